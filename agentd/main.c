/* SPDX-License-Identifier: MIT */
/*
 * main.c - agentd: options, the runtime directory, the sd-event loop and
 * its signals, and the order in which the parts come up and go down.
 *
 *	agentd [--units DIR] [--runtime-dir DIR] [--socket-group GROUP]
 *	       [--listen URL]... [--no-cgroup] [--check] [-v]
 *
 * SIGTERM / SIGINT: ordered stop of every agent, then exit 0 (1 if a group
 * with Escalate=yes failed). SIGHUP: reload the units. SIGCHLD: reap.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agentd.h"
#include "config.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "registry.h"
#include "nameserver.h"

static const int handled_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: agentd [--units DIR] [--runtime-dir DIR] [--socket-group GROUP]\n"
		"              [--listen URL]... [--no-cgroup] [--check] [-v]\n"
		"  --units DIR        unit files (*.agent, *.group); default %s\n"
		"  --runtime-dir DIR  sockets; default $AGENTD_RUNTIME_DIR or %s\n"
		"  --socket-group G   control.sock mode 0660 for group G (runtime dir 0710)\n"
		"  --listen URL       be this host's name server at URL (tcp://ADDR:PORT,\n"
		"                     tls+tcp://ADDR:PORT; port 0 picks one); repeatable\n"
		"  --no-cgroup        kill agents' trees by process group, not cgroup\n"
		"  --check            validate the units and exit\n"
		"  -v, --verbose      debug logging\n"
		"  --version\n",
		AGENTD_DEFAULT_UNITS_DIR, AGENTD_DEFAULT_RUNTIME_DIR);
}

static int
signal_cb(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	switch (si->ssi_signo) {
	case SIGCHLD:
		process_sigchld(m);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("%s received", strsignal((int)si->ssi_signo));
		manager_begin_shutdown(m, 0);
		break;
	case SIGHUP: {
		char *text = NULL;

		sd_notify(0, "RELOADING=1");
		(void)manager_reload(m, &text);
		free(text);
		sd_notify(0, "READY=1");
		break;
	}
	}
	return 0;
}

/*
 * Open DIR (no symlink) and check that it is a directory owned by agentd's
 * euid that nobody else can write to, then give it MODE (and GID unless
 * -1). fchown/fchmod on the fd: nothing by path once it is checked.
 * ALLOW_W: group/other write bits allowed on an existing DIR (inbox/,
 * whose mode is 1733 anyway). On refusal, *why says why.
 */
static int
secure_dir(const char *dir, mode_t mode, gid_t gid, bool allow_w,
	   const char **why)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	*why = NULL;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		*why = "is a symbolic link";
		return -ELOOP;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid()) {
		*why = "not owned by agentd's user";
		return -EPERM;
	}
	if (!allow_w && (st.st_mode & 0022)) {
		*why = "writable by group or others";
		return -EPERM;
	}
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)
		return -errno;
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		return -errno;
	return 0;
}

/*
 * The runtime directory is 0711: agents that run as another user (User=)
 * must reach notify.sock and inbox/, but nobody may list or
 * write it. control.sock stays 0600 (0660 with --socket-group).
 * inbox/ is 1733 (like /tmp without read): any agent creates its socket
 * there and cannot remove another's.
 */
static void
runtime_dir_setup(const char *dir, const struct manager *m)
{
	char inbox[4096];
	const char *why;
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0)
		fatalx("runtime directory %s: %s", dir, strerror(-r));
	r = secure_dir(dir, 0711, m->socket_group ? m->socket_gid : (gid_t)-1,
		       false, &why);
	if (r < 0)
		fatalx("runtime directory %s: %s, refusing it", dir,
		       why ? why : strerror(-r));
	snprintf(inbox, sizeof(inbox), "%s/inbox", dir);
	if (mkdir(inbox, 0700) < 0 && errno != EEXIST)
		fatal("%s", inbox);
	r = secure_dir(inbox, 01733, (gid_t)-1, true, &why);
	if (r < 0)
		fatalx("%s: %s, refusing it", inbox, why ? why : strerror(-r));
}

/*
 * Fds 0-2 that agentd was started without become /dev/null: otherwise the
 * first files agentd opens take them, and agents (which inherit 0 and get
 * 1 and 2 from agentd) would exec with fd 0 closed or, worse, on one of
 * agentd's own files.
 */
static void
fill_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n < 0)
			_exit(1);
		if (n != fd) { /* a lower fd was missing too: filled in order */
			close(n);
			_exit(1);
		}
	}
}

#define EXIT_DEADLINE_SEC	5

static void *
exit_deadline_thread(void *arg)
{
	int code = (int)(intptr_t)arg;

	sleep(EXIT_DEADLINE_SEC);
	log_warnx("closing the sockets took over %ds (nng), exiting anyway",
		  EXIT_DEADLINE_SEC);
	_exit(code);
	return NULL;
}

/* After the last agent stopped: a thread ends the process if closing
 * the nng sockets hangs. */
static void
exit_deadline_arm(int code)
{
	pthread_t t;

	if (pthread_create(&t, NULL, exit_deadline_thread,
			   (void *)(intptr_t)code) == 0)
		pthread_detach(t);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "units", required_argument, NULL, 'u' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "no-cgroup", no_argument, NULL, 'C' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct manager m = {
		.notify_fd = -1,
		.null_fd = -1,
		.journal_fd = -1,
		.exit_code = 0,
	};
	const char *units_dir = AGENTD_DEFAULT_UNITS_DIR;
	const char *runtime_dir = getenv("AGENTD_RUNTIME_DIR");
	struct unit_set *units = NULL;
	bool check_only = false;
	int verbose = 0, c, r;
	sigset_t mask;

	fill_std_fds();
	if (!runtime_dir || !*runtime_dir)
		runtime_dir = AGENTD_DEFAULT_RUNTIME_DIR;
	log_init("agentd", LOG_LEVEL_INFO);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			units_dir = optarg;
			break;
		case 'r':
			runtime_dir = optarg;
			break;
		case 'C':
			m.no_cgroup = true;
			break;
		case 'g': {
			struct group *gr = getgrnam(optarg);

			if (!gr)
				fatalx("--socket-group %s: no such group", optarg);
			m.socket_group = true;
			m.socket_gid = gr->gr_gid;
			break;
		}
		case 'l':
			r = nameserver_add_listen(optarg);
			if (r == -EINVAL) {
				log_msg(LOG_LEVEL_ERR,
					"--listen %s: not tcp://ADDR:PORT or "
					"tls+tcp://ADDR:PORT", optarg);
				return 2;
			}
			if (r < 0)
				fatalx("--listen %s: %s", optarg,
				       r == -ENOSPC ? "too many (at most 8)"
						    : strerror(-r));
			break;
		case 'c':
			check_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("agentd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (verbose)
		log_set_max_level(LOG_LEVEL_DEBUG);

	/* Before any nng call, so nng's threads inherit the mask. */
	sigemptyset(&mask);
	for (size_t i = 0; i < ELEMENTSOF(handled_signals); i++)
		sigaddset(&mask, handled_signals[i]);
	sigaddset(&mask, SIGPIPE);
	r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
	if (r != 0)
		fatalx("cannot block signals: %s", strerror(r));

	r = unit_set_load_dir(units_dir, &units);
	if (r < 0)
		fatalx("cannot read units from %s: %s", units_dir, strerror(-r));
	if (units->n_errors > 0) {
		for (size_t i = 0; i < units->n_errors; i++)
			log_msg(LOG_LEVEL_ERR, "%s", units->errors[i]);
		log_msg(LOG_LEVEL_ERR, "%zu errors in %s, not starting",
			units->n_errors, units_dir);
		unit_set_free(units);
		return 1;
	}
	if (check_only) {
		printf("%zu agents in %zu groups: ok\n", units->n_agents,
		       units->n_groups);
		unit_set_free(units);
		return 0;
	}

	m.units_dir = strdup(units_dir);
	m.runtime_dir = strdup(runtime_dir);
	if (!m.units_dir || !m.runtime_dir)
		fatalx("out of memory");
	if (strlen(runtime_dir) + sizeof("/inbox/") + PROTO_NAME_MAX + 5 > 107)
		log_warnx("runtime directory %s is long: ipc paths are limited to 107 bytes",
			  runtime_dir);
	runtime_dir_setup(runtime_dir, &m);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER), ignoring");
	m.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m.null_fd < 0)
		fatal("/dev/null");
	m.journal_fd = journal_open(); /* -errno: no journal, stderr */
	srandom((unsigned)(now_usec() ^ (usec_t)getpid()));

	r = sd_event_default(&m.event);
	if (r < 0)
		fatalx("sd_event_default: %s", strerror(-r));
	for (size_t i = 0; i < ELEMENTSOF(handled_signals); i++) {
		r = sd_event_add_signal(m.event, &m.sig_src[i], handled_signals[i],
					signal_cb, &m);
		if (r < 0)
			fatalx("sd_event_add_signal: %s", strerror(-r));
	}
	(void)sd_event_set_watchdog(m.event, true);

	r = cgroup_setup(&m);
	if (r < 0)
		fatalx("cgroup setup: %s", strerror(-r));
	r = notify_open(&m);
	if (r < 0)
		fatalx("notify socket: %s", strerror(-r));
	r = control_open(&m);
	if (r < 0)
		fatalx("control socket: %s", strerror(-r));
	r = nameserver_open(&m);
	if (r < 0)
		fatalx("name server (--listen): %s", strerror(-r));

	r = manager_build(&m, units);
	if (r < 0)
		fatalx("cannot set up the agents: %s", strerror(-r));
	for (size_t i = 0; i < m.n_agents; i++)
		m.agents[i]->want_up = true;
	m.phase = PHASE_STARTING;
	m.cursor = 0;
	log_info("agentd %s: %zu agents in %zu groups, runtime directory %s",
		 PACKAGE_VERSION, m.n_agents, m.n_groups, runtime_dir);
	manager_schedule_dispatch(&m);

	r = sd_event_loop(m.event);
	if (r < 0) {
		log_warn_errno(r, "event loop");
		r = 1;
	}
	process_reap_all(&m); /* zombies kept for a dispatch pass */

	/* nng 1.5.2 can block for good in nng_close() when a client's
	 * request races it (seen with a long-polling watcher): every agent
	 * is already stopped, so past a deadline exit without closing. */
	exit_deadline_arm(r < 0 ? 1 : m.exit_code);
	control_close(&m);
	nameserver_close(&m);
	registry_free();
	notify_close(&m);
	/* should be empty; make sure nothing outlives us */
	for (size_t i = 0; i < m.n_agents; i++)
		if (m.agents[i]->pid > 0)
			process_kill_tree(m.agents[i], SIGKILL);
	manager_free_agents(&m);
	cgroup_cleanup(&m);
	for (size_t i = 0; i < ELEMENTSOF(m.sig_src); i++)
		sd_event_source_disable_unref(m.sig_src[i]);
	sd_event_unref(m.event);
	unit_set_free(m.units);
	safe_close(m.null_fd);
	safe_close(m.journal_fd);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/inbox", m.runtime_dir);
		(void)rmdir(path);
	}
	free(m.units_dir);
	free(m.runtime_dir);
	return r;
}
