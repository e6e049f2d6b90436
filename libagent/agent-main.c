/* SPDX-License-Identifier: MIT */
/*
 * agent-main.c - agent_main(): a process whose life is one agent. It
 * blocks the signals the loop handles before the first nng call (nng's
 * threads inherit the mask), turns SIGTERM and SIGINT into interruptions
 * (FLAG, then ABORT) and SIGCONT into a fresh inbox listener, listens on
 * $AGENTD_INBOX and $AGENTD_LISTEN, links to agentd on $AGENTD_LINK_FD, and
 * runs the loop until the agent has ended.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent-remote.h"

/* nng starts its threads with the first socket: they inherit this mask, so
 * the signals the loop handles never land on them. */
void
agent__block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

struct sigctx {
	struct agent_io io;
	agent *a;
	int count;
};

static void
signal_fire(struct agent_io *io, uint32_t revents)
{
	struct sigctx *sc = container_of(io, struct sigctx, io);
	struct signalfd_siginfo si;
	int level;

	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCONT) {
			if (sc->a->loop->remote)
				agent__inbox_relisten(sc->a->loop->remote);
			continue;
		}
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		sc->count++;
		/* escalate: the first is FLAG, the next ABORT */
		level = sc->a->level < AGENT_LEVEL_FLAG ? AGENT_LEVEL_FLAG
							: AGENT_LEVEL_ABORT;
		agent__log(sc->a, 7, "signal %u: interrupting at %d",
			   si.ssi_signo, level);
		agent__interrupt_local(sc->a, level);
	}
}

static bool
main_alive(void *arg)
{
	agent *a = arg;

	/* an abort that cannot complete (a sync state still running on a
	 * worker, in this agent or a descendant) ends the process anyway */
	return a->phase != PHASE_ENDED && !agent__abort_stuck(a);
}

_public_ int
agent_main(const struct agent_def *def, void *self, int argc, char **argv)
{
	struct sigctx sc = { 0 };
	agent_loop *l = NULL;
	sigset_t set, old;
	const char *inbox;
	char link[16] = "";
	agent *a = NULL;
	int r, status;

	(void)argc;
	(void)argv;
	if (!def)
		return AGENT_EXIT_FAILED;
	{
		/* the link is ours alone: our children must not take
		 * $AGENTD_LINK_FD for theirs (no thread exists yet) */
		const char *fd = getenv("AGENTD_LINK_FD");
		if (fd && strlen(fd) < sizeof(link))
			snprintf(link, sizeof(link), "%s", fd);
		unsetenv("AGENTD_LINK_FD");
	}
	/* block before the first nng call, for every thread to come */
	agent__block_signals(&old);
	sigemptyset(&set);
	sigaddset(&set, SIGCONT); /* still continues the process when blocked */
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	r = agent_loop_new(&l);
	if (r < 0)
		return AGENT_EXIT_FAILED;
	r = agent_new(&a, l, def, self);
	if (r < 0) {
		agent_loop_unref(l);
		return AGENT_EXIT_FAILED;
	}
	{
		const char *n = getenv("AGENTD_NAME");
		if (n && proto_name_is_valid(n, strlen(n)))
			(void)agent_set_name(a, n); /* logs say who we are */
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCONT);
	sc.io.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sc.io.fire = signal_fire;
	sc.a = a;
	if (sc.io.fd >= 0)
		(void)agent__io_update(l, &sc.io, EPOLLIN);

	inbox = getenv("AGENTD_INBOX");
	if (inbox && *inbox) {
		r = agent_listen(a, inbox);
		if (r < 0)
			agent__log(a, 7, "cannot listen on %s: %s", inbox,
				   strerror(-r));
	}
	{
		/* more inbox transports: "tcp://H:P,tls+tcp://H:P" */
		const char *more = getenv("AGENTD_LISTEN");
		char buf[4 * PROTO_URL_MAX], *save = NULL, *u;
		if (more && strlen(more) < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%s", more);
			for (u = strtok_r(buf, ", ", &save); u;
			     u = strtok_r(NULL, ", ", &save)) {
				r = agent_listen(a, u);
				if (r < 0)
					agent__log(a, 3, "cannot listen on %s: %s",
						   u, strerror(-r));
			}
		}
	}
	if (*link) {
		r = agent__link_open(a, link);
		if (r < 0)
			agent__log(a, 3, "cannot use the link to agentd (fd %s): %s",
				   link, strerror(-r));
	}
	(void)agent_start(a);
	r = agent__loop_run_while(l, main_alive, a);
	if (a->phase == PHASE_ENDED)
		status = a->reason;
	else if (agent__abort_stuck(a)) {
		/* a sync state holds the agent: report and leave without
		 * waiting for it (the process ends with us) */
		if (l->remote)
			agent__link_report_aborted(l->remote);
		return AGENT_EXIT_ABORTED;
	} else
		status = r < 0 ? AGENT_EXIT_FAILED : AGENT_EXIT_ABORTED;
	if (sc.io.fd >= 0) {
		agent__io_remove(l, &sc.io);
		close(sc.io.fd);
	}
	agent_unref(a);
	agent_loop_unref(l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
