/* SPDX-License-Identifier: MIT */
/*
 * test-agent-link.c - agent_main() as agentd sees it: the test plays
 * agentd on a SOCK_SEQPACKET socketpair whose other end link-agent gets as
 * fd 3 ($AGENTD_LINK_FD=3), and checks HELLO [name, pid, inbox], READY
 * after begin, HEARTBEATs once HELLO_ACK asks for a watchdog, INTERRUPT
 * FLAG -> STOPPING -> EXIT_REPORT and exit status 2. $AGENTD_LINK_FD
 * naming something that is not a seqpacket socket is refused (the agent
 * runs unlinked). Standalone (no link): SIGTERM is FLAG (status 2), a
 * second SIGTERM ABORT (status 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>

#include "proto.h"
#include "proto-agent.h"
#include "proto-link.h"

extern char **environ;

static char *helper;
static char mode_actor[] = "actor";
static char mode_stubborn[] = "stubborn";
static char mode_busychild[] = "busychild";

/* link_fd >= 0 becomes the helper's fd 3 */
static pid_t
spawn_helper_link(char *mode, char **env, int *out_fd, int link_fd)
{
	char *argv[] = { helper, mode, NULL };
	posix_spawn_file_actions_t fa;
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (link_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, link_fd, 3);
	assert_int_equal(posix_spawn(&pid, helper, &fa, NULL, argv, env), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

static pid_t
spawn_helper(char *mode, char **env, int *out_fd)
{
	return spawn_helper_link(mode, env, out_fd, -1);
}

/* read one line from fd (blocking; the helper writes it promptly) */
static void
read_any_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char c;
		ssize_t r;

		/* a deadline instead of the suite's timeout */
		assert_int_equal(poll(&pfd, 1, 20000), 1);
		r = read(fd, &c, 1);
		if (r <= 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
}

/* the next line that is not one of libagent's "log:" lines */
static void
read_line(int fd, char *buf, size_t size)
{
	do
		read_any_line(fd, buf, size);
	while (strncmp(buf, "log: ", 5) == 0);
}

/* skip lines until a log line containing needle */
static void
wait_log(int fd, const char *needle)
{
	char buf[512];

	do {
		read_any_line(fd, buf, sizeof(buf));
		assert_true(buf[0] != '\0'); /* EOF: the helper died */
	} while (strncmp(buf, "log: ", 5) != 0 || !strstr(buf, needle));
}

static int
wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* one datagram from the agent, within 20 s, decoded into env (which
 * points into a static buffer, valid until the next call) */
static void
recv_env(int s, struct proto_env *env)
{
	static uint8_t buf[PROTO_LINK_MSG_MAX];
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 20000), 1);
	n = recv(s, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(proto_env_decode(buf, (size_t)n, env), 0);
}

/* the next message that is not a heartbeat */
static uint32_t
recv_skip_heartbeats(int s, struct proto_env *env, int *heartbeats)
{
	for (;;) {
		recv_env(s, env);
		if (env->type != PROTO_MSG_HEARTBEAT)
			return env->type;
		(*heartbeats)++;
	}
}

static void
send_payload(int s, uint32_t type, const void *arg)
{
	struct proto_builder b;
	nng_msg *msg;

	assert_int_equal(proto_builder_begin(&b, type, 0, 0, "agentd"), 0);
	if (type == PROTO_MSG_HELLO_ACK)
		assert_int_equal(proto_hello_ack_pack(&b.pk, arg), 0);
	else
		assert_int_equal(proto_interrupt_pack(&b.pk, arg), 0);
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	assert_int_equal(send(s, nng_msg_body(msg), nng_msg_len(msg), 0),
			 (ssize_t)nng_msg_len(msg));
	nng_msg_free(msg);
}

static void
test_linked(void **state)
{
	char dir[] = "/tmp/la.XXXXXX";
	char url[256], inbox[256], e_inbox[300], e_dir[300];
	char *env[] = { "AGENTD_LINK_FD=3", e_inbox, e_dir,
			"AGENTD_NAME=linky", NULL };
	struct proto_hello_ack ack = { .watchdog_usec = 100000,
				       .stop_timeout_usec = 4000000 };
	struct proto_interrupt in = { .level = PROTO_LEVEL_FLAG };
	struct proto_reader rd;
	struct proto_env ev;
	struct proto_hello h;
	struct proto_exit_report er;
	int out, heartbeats = 0, sv[2], s;
	char line[64];
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(inbox, sizeof(inbox), "ipc://%s/inbox/linky.sock", dir);
	snprintf(e_inbox, sizeof(e_inbox), "AGENTD_INBOX=%s", inbox);
	snprintf(e_dir, sizeof(e_dir), "AGENTD_RUNTIME_DIR=%s", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv), 0);
	s = sv[0];

	pid = spawn_helper_link(mode_actor, env, &out, sv[1]);
	close(sv[1]);

	recv_env(s, &ev);
	assert_int_equal(ev.type, PROTO_MSG_HELLO);
	proto_reader_init(&rd, ev.payload, ev.payload_len);
	assert_int_equal(proto_hello_unpack(&rd, &h), 0);
	assert_string_equal(h.name, "linky");
	assert_int_equal(h.pid, (uint32_t)pid);
	assert_int_equal(h.inbox_len, strlen(inbox));
	assert_memory_equal(h.inbox, inbox, h.inbox_len);
	send_payload(s, PROTO_MSG_HELLO_ACK, &ack);

	/* begin published a status, then its first step made it READY */
	assert_int_equal(recv_skip_heartbeats(s, &ev, &heartbeats),
			 PROTO_MSG_STATUS_TEXT);
	{
		struct proto_text t;
		proto_reader_init(&rd, ev.payload, ev.payload_len);
		assert_int_equal(proto_text_unpack(&rd, &t), 0);
		assert_int_equal(t.len, strlen("serving notes"));
		assert_memory_equal(t.text, "serving notes", t.len);
	}
	assert_int_equal(recv_skip_heartbeats(s, &ev, &heartbeats),
			 PROTO_MSG_READY);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	/* heartbeats come every watchdog/2 */
	while (heartbeats < 2) {
		recv_env(s, &ev);
		assert_int_equal(ev.type, PROTO_MSG_HEARTBEAT);
		heartbeats++;
	}

	send_payload(s, PROTO_MSG_INTERRUPT, &in);
	assert_int_equal(recv_skip_heartbeats(s, &ev, &heartbeats),
			 PROTO_MSG_STOPPING);
	assert_int_equal(recv_skip_heartbeats(s, &ev, &heartbeats),
			 PROTO_MSG_EXIT_REPORT);
	proto_reader_init(&rd, ev.payload, ev.payload_len);
	assert_int_equal(proto_exit_report_unpack(&rd, &er), 0);
	assert_int_equal(er.reason, PROTO_EXIT_INTERRUPTED);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");

	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	/* the process is gone: the link says so */
	assert_int_equal(recv(s, line, sizeof(line), MSG_DONTWAIT), 0);
	close(out);
	close(s);
	snprintf(url, sizeof(url), "%s/inbox", dir);
	(void)rmdir(url);
	(void)rmdir(dir);
}

/* $AGENTD_LINK_FD naming a pipe, or a closed fd: refused, the agent runs
 * as if standalone (and says why) */
static void
test_link_fd_not_a_link(void **state)
{
	char *env_closed[] = { "AGENTD_LINK_FD=3", NULL };
	char *env_junk[] = { "AGENTD_LINK_FD=3x", NULL };
	char *env_pipe[] = { "AGENTD_LINK_FD=3", NULL };
	char line[64];
	int out, p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = spawn_helper_link(mode_actor, env_pipe, &out, p[1]);
	wait_log(out, "cannot use the link to agentd (fd 3)");
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");
	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	close(out);
	close(p[0]);
	close(p[1]);

	pid = spawn_helper(mode_actor, env_closed, &out);
	wait_log(out, "cannot use the link to agentd (fd 3)");
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	close(out);

	pid = spawn_helper(mode_actor, env_junk, &out);
	wait_log(out, "cannot use the link to agentd (fd 3x)");
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	close(out);
}

static void
test_standalone_sigterm(void **state)
{
	char *env[] = { NULL };
	char line[64];
	int out;
	pid_t pid;

	/* one SIGTERM: FLAG, on_interrupt runs, status 2 */
	pid = spawn_helper(mode_actor, env, &out);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");
	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	close(out);

	/* a shutdown state that never ends: the second SIGTERM aborts */
	pid = spawn_helper(mode_stubborn, env, &out);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), PROTO_EXIT_ABORTED);
	close(out);

	/* a child stuck in a sync state: the second SIGTERM still ends the
	 * process (it used to wait for the child's worker, here forever) */
	pid = spawn_helper(mode_busychild, env, &out);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");
	assert_int_equal(kill(pid, SIGTERM), 0);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), PROTO_EXIT_ABORTED);
	close(out);
}

static void
send_note(nng_socket s)
{
	struct proto_builder b;
	struct proto_event ev = { .kind = "note", .kind_len = 4 };
	nng_msg *msg;

	assert_int_equal(proto_builder_begin(&b, PROTO_MSG_EVENT, 0, 0,
					     "tester"), 0);
	assert_int_equal(proto_event_pack(&b.pk, &ev), 0);
	assert_int_equal(proto_builder_finish(&b, &msg), 0);
	assert_int_equal(nng_sendmsg(s, msg, 0), 0);
}

/* nng 1.5.2 bug #1518: a connection that closes during the SP handshake
 * while the agent is stopped must not leave its inbox deaf */
static void
test_inbox_survives_sigstop(void **state)
{
	char dir[] = "/tmp/la.XXXXXX";
	char url[300], path[200], e_inbox[320];
	char *env[] = { e_inbox, NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	nng_socket s;
	char line[64];
	int out, fd;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inbox/linky.sock", dir);
	snprintf(url, sizeof(url), "ipc://%s", path);
	snprintf(e_inbox, sizeof(e_inbox), "AGENTD_INBOX=%s", url);
	pid = spawn_helper(mode_actor, env, &out);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "ready");

	assert_int_equal(nng_push0_open(&s), 0);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	send_note(s);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "note");
	nng_close(s);

	/* a stranger connects to the stopped agent, starts the SP
	 * handshake and leaves */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "\0SP\0\x00\x50", 6), 6);
	close(fd);
	assert_int_equal(kill(pid, SIGCONT), 0);
	wait_log(out, "inbox listener recreated");

	/* the inbox still delivers (the dialer retries by itself) */
	assert_int_equal(nng_push0_open(&s), 0);
	assert_int_equal(nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK), 0);
	send_note(s);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "note");
	nng_close(s);

	assert_int_equal(kill(pid, SIGTERM), 0);
	read_line(out, line, sizeof(line));
	assert_string_equal(line, "stopping 1000");
	assert_int_equal(wait_status(pid), PROTO_EXIT_INTERRUPTED);
	close(out);
	snprintf(url, sizeof(url), "%s/inbox", dir);
	(void)unlink(path);
	(void)rmdir(url);
	(void)rmdir(dir);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked),
		cmocka_unit_test(test_link_fd_not_a_link),
		cmocka_unit_test(test_standalone_sigterm),
		cmocka_unit_test(test_inbox_survives_sigstop),
	};
	sigset_t set;

	helper = argc > 1 ? argv[1] : getenv("LINK_AGENT");
	if (!helper) {
		fprintf(stderr, "usage: test-agent-link PATH-TO-link-agent\n");
		return 2;
	}
	/* as nng wants: block before the first nng call */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
