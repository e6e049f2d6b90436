/* SPDX-License-Identifier: MIT */
/*
 * test-client.c - agentctl's control client against an in-process fake
 * agentd (a rep0 socket on a thread): the request on the wire, the decoding
 * of every reply kind, and the exit code of each outcome.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentctl.h"

#include <nng/protocol/reqrep0/rep.h>

enum fake_mode {
	FAKE_STATUS,      /* two records */
	FAKE_RESULT,      /* CTL_RESULT [0, "# done 2"] (printed: a TAP comment) */
	FAKE_ERROR,       /* CTL_ERROR [-ENOENT, "no such agent: x"] */
	FAKE_WRONG_CORR,  /* a valid result with another corr */
	FAKE_BAD_PAYLOAD, /* CTL_RESULT ["x"] */
	FAKE_BAD_RECORD,  /* CTL_STATUS_REPLY [[1, 2]] */
	FAKE_RESULT_FOR_STATUS, /* a result where records are expected */
};

static char dir[64];
static nng_socket srv;
static pthread_t thread;
static volatile int mode;
/* What the last request looked like. */
static uint32_t last_type;
static char last_sender[PROTO_NAME_MAX + 1];
static char last_names[256];

static int
names_cb(const char *s, size_t len, void *userdata)
{
	size_t n = strlen(last_names);

	snprintf(last_names + n, sizeof(last_names) - n, "%s%.*s",
		 n ? "," : "", (int)len, s);
	return 0;
}

static void
reply(nng_msg *req, uint32_t type, uint64_t corr, int code, const char *text)
{
	struct proto_builder b;
	nng_msg *m;

	assert_int_equal(proto_builder_begin(&b, type, 0, corr, "agentd"), 0);
	if (code == 1) {
		/* a malformed record */
		msgpack_pack_array(&b.pk, 1);
		msgpack_pack_array(&b.pk, 2);
		msgpack_pack_int(&b.pk, 1);
		msgpack_pack_int(&b.pk, 2);
	} else if (type == PROTO_MSG_CTL_STATUS_REPLY) {
		struct proto_status_record r1 = { .name = "web",
			.group = "front", .state = "running", .pid = 42,
			.restarts = 1, .uptime_ms = 1500 };
		struct proto_status_record r2 = { .name = "db",
			.state = "failed", .last_exit = "exited 3" };

		msgpack_pack_array(&b.pk, 2);
		assert_int_equal(proto_status_record_pack(&b.pk, &r1), 0);
		assert_int_equal(proto_status_record_pack(&b.pk, &r2), 0);
	} else if (text) {
		struct proto_result res = { .code = code, .message = text,
					    .message_len = strlen(text) };

		assert_int_equal(proto_result_pack(&b.pk, &res), 0);
	} else {
		msgpack_pack_array(&b.pk, 1);
		proto_pack_cstr(&b.pk, "x");
	}
	assert_int_equal(proto_builder_finish(&b, &m), 0);
	/* rep0 (not raw) routes the reply by the request it received. */
	nng_msg_free(req);
	assert_int_equal(nng_sendmsg(srv, m, 0), 0);
}

static void *
server(void *arg)
{
	for (;;) {
		struct proto_env env;
		struct proto_reader rd;
		nng_msg *req;

		if (nng_recvmsg(srv, &req, 0) != 0)
			return NULL;
		if (proto_env_decode_msg(req, &env) < 0) {
			nng_msg_free(req);
			continue;
		}
		last_type = env.type;
		snprintf(last_sender, sizeof(last_sender), "%.*s",
			 (int)env.sender_len, env.sender);
		last_names[0] = '\0';
		proto_reader_init(&rd, env.payload, env.payload_len);
		if (env.type != PROTO_MSG_CTL_KILL)
			(void)proto_names_unpack(&rd, names_cb, NULL);
		switch (mode) {
		case FAKE_STATUS:
			reply(req, PROTO_MSG_CTL_STATUS_REPLY, env.corr, 0, NULL);
			break;
		case FAKE_RESULT:
		case FAKE_RESULT_FOR_STATUS:
			reply(req, PROTO_MSG_CTL_RESULT, env.corr, 0, "# done 2");
			break;
		case FAKE_ERROR:
			reply(req, PROTO_MSG_CTL_ERROR, env.corr, -ENOENT,
			      "no such agent: x");
			break;
		case FAKE_WRONG_CORR:
			reply(req, PROTO_MSG_CTL_RESULT, env.corr + 1, 0, "ok");
			break;
		case FAKE_BAD_PAYLOAD:
			reply(req, PROTO_MSG_CTL_RESULT, env.corr, 0, NULL);
			break;
		case FAKE_BAD_RECORD:
			reply(req, PROTO_MSG_CTL_STATUS_REPLY, env.corr, 1, NULL);
			break;
		}
	}
}

static int
setup(void **state)
{
	char url[128];

	strcpy(dir, "/tmp/actl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "ipc://%s/control.sock", dir);
	assert_int_equal(nng_rep0_open(&srv), 0);
	assert_int_equal(nng_listen(srv, url, NULL, 0), 0);
	assert_int_equal(pthread_create(&thread, NULL, server, NULL), 0);
	agentctl_reset_args();
	arg_runtime_dir = dir;
	arg_timeout = 5 * USEC_PER_SEC;
	return 0;
}

static int
teardown(void **state)
{
	char path[128];

	nng_close(srv);
	pthread_join(thread, NULL);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
test_status(void **state)
{
	struct proto_status_record *recs = NULL;
	char *names[] = { "web", "db" };
	size_t n = 0;

	mode = FAKE_STATUS;
	assert_int_equal(ctl_fetch_status(names, 2, &recs, &n), 0);
	assert_int_equal(last_type, PROTO_MSG_CTL_STATUS);
	assert_string_equal(last_sender, "agentctl");
	assert_string_equal(last_names, "web,db");
	assert_int_equal(n, 2);
	assert_string_equal(recs[0].name, "web");
	assert_string_equal(recs[0].group, "front");
	assert_int_equal(recs[0].pid, 42);
	assert_int_equal(recs[0].uptime_ms, 1500);
	assert_string_equal(recs[1].state, "failed");
	assert_string_equal(recs[1].last_exit, "exited 3");
	free(recs);
}

static void
test_status_filter(void **state)
{
	struct proto_status_record *recs = NULL;
	char *pats[] = { "w*" };
	char *missing[] = { "web", "nope" };
	size_t n = 0;

	mode = FAKE_STATUS;
	/* A glob asks for everything and filters here. */
	assert_int_equal(status_fetch_matching(1, pats, &recs, &n), EXIT_OK);
	assert_string_equal(last_names, "");
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].name, "web");
	free(recs);
	recs = NULL;
	/* A plain name missing from the reply is a failure. */
	assert_int_equal(status_fetch_matching(2, missing, &recs, &n),
			 EXIT_FAIL);
	assert_null(recs);
}

static void
test_result_and_error(void **state)
{
	char *names[] = { "a", "b" };

	mode = FAKE_RESULT;
	assert_int_equal(ctl_names_verb(PROTO_MSG_CTL_STOP, 2, names), EXIT_OK);
	assert_int_equal(last_type, PROTO_MSG_CTL_STOP);
	assert_string_equal(last_names, "a,b");
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_RELOAD, NULL, NULL), EXIT_OK);
	assert_int_equal(last_type, PROTO_MSG_CTL_RELOAD);

	mode = FAKE_ERROR;
	assert_int_equal(ctl_names_verb(PROTO_MSG_CTL_START, 1, names),
			 EXIT_FAIL);
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_SHUTDOWN, NULL, NULL),
			 EXIT_FAIL);
}

static void
test_kill_request(void **state)
{
	struct proto_kill k = { .signal = 9,
				.names = { .names = (const char *const[]){ "x" },
					   .n = 1 } };

	mode = FAKE_RESULT;
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_KILL,
				    (ctl_pack_fn)(uintptr_t)proto_kill_pack, &k),
			 EXIT_OK);
	assert_int_equal(last_type, PROTO_MSG_CTL_KILL);
}

static void
test_bad_replies(void **state)
{
	struct proto_status_record *recs = NULL;
	struct ctl_reply rep;
	size_t n = 0;

	mode = FAKE_WRONG_CORR;
	assert_int_equal(ctl_request(PROTO_MSG_CTL_RELOAD, NULL, NULL, &rep),
			 -EBADMSG);
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_RELOAD, NULL, NULL),
			 EXIT_UNREACHABLE);

	mode = FAKE_BAD_PAYLOAD;
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_RELOAD, NULL, NULL),
			 EXIT_UNREACHABLE);

	mode = FAKE_BAD_RECORD;
	assert_int_equal(ctl_fetch_status(NULL, 0, &recs, &n), -EBADMSG);
	assert_null(recs);

	mode = FAKE_RESULT_FOR_STATUS;
	assert_int_equal(ctl_fetch_status(NULL, 0, &recs, &n), -EREMOTEIO);
	assert_null(recs);
}

static void
test_unreachable(void **state)
{
	const char *saved = arg_runtime_dir;
	char *names[] = { "a" };

	arg_runtime_dir = "/nonexistent/agentd";
	assert_int_equal(ctl_simple(PROTO_MSG_CTL_RELOAD, NULL, NULL),
			 EXIT_UNREACHABLE);
	assert_int_equal(ctl_names_verb(PROTO_MSG_CTL_STOP, 1, names),
			 EXIT_UNREACHABLE);
	arg_runtime_dir = saved;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_filter),
		cmocka_unit_test(test_result_and_error),
		cmocka_unit_test(test_kill_request),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
