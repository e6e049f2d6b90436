/* SPDX-License-Identifier: MIT */
/*
 * test-agent-addr.c - the address parser of the send APIs
 * (libagent/agent-addr.c, compiled into this test: its functions are
 * internal): every accepted form, every malformed one, the name server
 * URL, and the wildcard host replacement.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent-addr.h"

struct good {
	const char *in;
	const char *name;
	const char *host;
	bool v6;
	unsigned port;
};

static void
test_accepted(void **state)
{
	static const struct good cases[] = {
		{ "db", "db", "", false, 0 },
		{ "worker@3", "worker@3", "", false, 0 },
		{ "worker@0", "worker@0", "", false, 0 },
		{ "db@host1", "db", "host1", false, 0 },
		{ "db@127.0.0.1", "db", "127.0.0.1", false, 0 },
		{ "db@example.org:7411", "db", "example.org", false, 7411 },
		{ "db@127.0.0.1:65535", "db", "127.0.0.1", false, 65535 },
		{ "db@h:1", "db", "h", false, 1 },
		{ "worker@3@h", "worker@3", "h", false, 0 },
		{ "worker@12@10.0.0.2:900", "worker@12", "10.0.0.2", false, 900 },
		{ "db@[::1]", "db", "::1", true, 0 },
		{ "db@[::1]:8000", "db", "::1", true, 8000 },
		{ "db@[fe80::1:2]:8000", "db", "fe80::1:2", true, 8000 },
		{ "worker@2@[2001:db8::7]:5", "worker@2", "2001:db8::7", true, 5 },
		{ "a.b:c_d-e@h-2", "a.b:c_d-e", "h-2", false, 0 },
		{ "db@3h", "db", "3h", false, 0 },
		{ "db@h_x.local", "db", "h_x.local", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agent_addr a;
		int r = agent__addr_parse(cases[i].in, &a);

		if (r != 0)
			fail_msg("%s: %d", cases[i].in, r);
		assert_string_equal(a.name, cases[i].name);
		assert_string_equal(a.host, cases[i].host);
		assert_int_equal(a.v6, cases[i].v6);
		assert_int_equal(a.port, cases[i].port);
	}
}

static void
test_rejected(void **state)
{
	static const char *const bad[] = {
		"", "@", "@h", "db@", "db@3@", "db@@h", "db@h:", "db@h:0",
		"db@h:65536", "db@h:99999999", "db@h:8x", "db@h:+80",
		"db@h:-1", "db@:80", "db@3@4", "db@3@h@i", "db@h@i",
		"db@x@h", "db@03", "db@03@h", ".db@h", "-db@h", "d b@h",
		"db@h h", "db@h/x", "db@::1", "db@[::1", "db@[]", "db@[]:80",
		"db@[1.2.3.4]", "db@[::1]x", "db@[::1]:", "db@[::1]:0",
		"db@[::g]", "db@-h", "db@.h", "tcp://127.0.0.1:80",
		"db@tcp://h:1", "db@h:80:81",
	};
	char name[PROTO_NAME_MAX + 2];
	char host[AGENT_ADDR_HOST_MAX + 8];
	char big[AGENT_ADDR_MAX + 16];
	struct agent_addr a;

	(void)state;
	memset(&a, 0x5a, sizeof(a));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = agent__addr_parse(bad[i], &a);

		if (r != -EINVAL)
			fail_msg("'%s' gave %d, not -EINVAL", bad[i], r);
	}
	assert_int_equal(agent__addr_parse(NULL, &a), -EINVAL);
	/* never written on failure */
	assert_int_equal((unsigned char)a.name[0], 0x5a);

	/* a name one byte too long */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(agent__addr_parse(name, &a), -EINVAL);
	name[sizeof(name) - 2] = '\0';
	assert_int_equal(agent__addr_parse(name, &a), 0);

	/* a host one byte too long, and the longest one */
	memcpy(host, "n@", 2);
	memset(host + 2, 'h', AGENT_ADDR_HOST_MAX + 1);
	host[2 + AGENT_ADDR_HOST_MAX + 1] = '\0';
	assert_int_equal(agent__addr_parse(host, &a), -EINVAL);
	host[2 + AGENT_ADDR_HOST_MAX] = '\0';
	assert_int_equal(agent__addr_parse(host, &a), 0);
	assert_int_equal(strlen(a.host), AGENT_ADDR_HOST_MAX);

	/* over-long input as a whole (not NUL-terminated within reach) */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(agent__addr_parse(big, &a), -EINVAL);
}

static void
test_ns_url(void **state)
{
	struct agent_addr a;
	char buf[128];

	(void)state;
	assert_int_equal(agent__addr_parse("db@127.0.0.1", &a), 0);
	assert_int_equal(agent__addr_ns_url(&a, false, 7411, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "tcp://127.0.0.1:7411");
	assert_int_equal(agent__addr_parse("db@h:99", &a), 0);
	assert_int_equal(agent__addr_ns_url(&a, true, 7411, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "tls+tcp://h:99");
	assert_int_equal(agent__addr_parse("db@[::1]:5", &a), 0);
	assert_int_equal(agent__addr_ns_url(&a, false, 7411, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "tcp://[::1]:5");
	assert_int_equal(agent__addr_ns_url(&a, false, 7411, buf, 8),
			 -ENAMETOOLONG);
	assert_int_equal(agent__addr_parse("db@2", &a), 0);
	assert_int_equal(agent__addr_ns_url(&a, false, 7411, buf, sizeof(buf)),
			 -EINVAL);
}

static void
test_rehost(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(agent__url_rehost("tcp://0.0.0.0:4000", "h", false,
					   buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tcp://h:4000");
	assert_int_equal(agent__url_rehost("tls+tcp://[::]:4000", "::1", true,
					   buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tls+tcp://[::1]:4000");
	assert_int_equal(agent__url_rehost("tcp://:9", "10.1.2.3", false, buf,
					   sizeof(buf)), 0);
	assert_string_equal(buf, "tcp://10.1.2.3:9");
	assert_int_equal(agent__url_rehost("tcp://*:9", "h", false, buf,
					   sizeof(buf)), 0);
	assert_string_equal(buf, "tcp://h:9");
	/* a real host stays */
	assert_int_equal(agent__url_rehost("tcp://192.168.1.4:9", "h", false,
					   buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tcp://192.168.1.4:9");
	assert_int_equal(agent__url_rehost("tcp://[::1]:9", "h", false, buf,
					   sizeof(buf)), 0);
	assert_string_equal(buf, "tcp://[::1]:9");
	/* not a network URL, no port, too small */
	assert_int_equal(agent__url_rehost("ipc:///x", "h", false, buf,
					   sizeof(buf)), -EINVAL);
	assert_int_equal(agent__url_rehost("tcp://0.0.0.0", "h", false, buf,
					   sizeof(buf)), -EINVAL);
	assert_int_equal(agent__url_rehost("tcp://0.0.0.0:0", "h", false, buf,
					   sizeof(buf)), -EINVAL);
	assert_int_equal(agent__url_rehost("tcp://0.0.0.0:4000", "longhost",
					   false, buf, 12), -ENAMETOOLONG);
}

static void
test_port(void **state)
{
	uint16_t p = 7;

	(void)state;
	assert_int_equal(agent__port_parse("80", 2, &p), 0);
	assert_int_equal(p, 80);
	assert_int_equal(agent__port_parse("65535", 5, &p), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(agent__port_parse("0", 1, &p), -EINVAL);
	assert_int_equal(agent__port_parse("65536", 5, &p), -EINVAL);
	assert_int_equal(agent__port_parse("123456", 6, &p), -EINVAL);
	assert_int_equal(agent__port_parse("", 0, &p), -EINVAL);
	assert_int_equal(agent__port_parse(" 8", 2, &p), -EINVAL);
	assert_int_equal(p, 65535);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_ns_url),
		cmocka_unit_test(test_rehost),
		cmocka_unit_test(test_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
