/* SPDX-License-Identifier: MIT */
/*
 * fake-ctl - a stand-in for agentd's control socket, for agentctl's tests.
 *
 *	fake-ctl URL silent    accept requests, never answer
 *	fake-ctl URL garbage   answer every request with bytes that are not
 *	                       an envelope
 *	fake-ctl URL echo      answer every request with the request itself
 *	                       (a well-formed envelope of the wrong type)
 *	fake-ctl URL pair      a pair0 socket: another SP protocol
 *
 * It runs until SIGTERM/SIGINT (or 60 s, so a broken test never leaves it
 * behind for long).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/reqrep0/rep.h>

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	nng_socket s;
	time_t end;
	int rv;

	if (argc != 3 || (strcmp(argv[2], "silent") != 0 &&
			  strcmp(argv[2], "garbage") != 0 &&
			  strcmp(argv[2], "echo") != 0 &&
			  strcmp(argv[2], "pair") != 0)) {
		fprintf(stderr, "usage: fake-ctl URL silent|garbage|echo|pair\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (strcmp(argv[2], "pair") == 0)
		rv = nng_pair0_open(&s);
	else
		rv = nng_rep0_open(&s);
	if (rv != 0 ||
	    (rv = nng_setopt_size(s, NNG_OPT_RECVMAXSZ, 1024 * 1024)) != 0 ||
	    (rv = nng_setopt_ms(s, NNG_OPT_RECVTIMEO, 100)) != 0 ||
	    (rv = nng_listen(s, argv[1], NULL, 0)) != 0) {
		fprintf(stderr, "fake-ctl: %s: %s\n", argv[1], nng_strerror(rv));
		return 1;
	}
	end = time(NULL) + 60;
	while (!quit && time(NULL) < end) {
		nng_msg *m;

		rv = nng_recvmsg(s, &m, 0);
		if (rv == NNG_ETIMEDOUT)
			continue;
		if (rv != 0)
			break;
		if (strcmp(argv[2], "pair") == 0) {
			nng_msg_free(m);
			continue;
		}
		if (strcmp(argv[2], "garbage") == 0) {
			static const char junk[] = "\xc1\xc1 not msgpack";

			nng_msg_clear(m);
			nng_msg_append(m, junk, sizeof(junk) - 1);
		} else if (strcmp(argv[2], "silent") == 0) {
			nng_msg_free(m);
			continue;
		}
		if (nng_sendmsg(s, m, 0) != 0)
			nng_msg_free(m);
	}
	nng_close(s);
	return 0;
}
