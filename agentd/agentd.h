/* SPDX-License-Identifier: MIT */
/*
 * agentd.h - the daemon's shared types: the manager (one per process), the
 * supervision groups and the agent instances, and the functions the
 * daemon's files call across each other. Single-threaded: everything here
 * is touched only from the sd-event loop, except link_pids (see link.c).
 */
#ifndef AGENTD_AGENTD_H
#define AGENTD_AGENTD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <nng/nng.h>
#include <systemd/sd-event.h>

#include "proto.h"
#include "time-util.h"
#include "unit.h"

/* ---- agents ------------------------------------------------------------- */

enum agent_state {
	AGENT_INACTIVE,
	AGENT_STARTING,
	AGENT_RUNNING,
	AGENT_STOPPING,
	AGENT_BACKOFF,
	AGENT_FAILED,
	AGENT_DONE,
	_AGENT_STATE_MAX,
};

enum agent_event {
	AGENT_EV_START,    /* spawn now (deps are ready) */
	AGENT_EV_STOP,     /* stop (or cancel a pending restart) */
	AGENT_EV_READY,    /* readiness: link READY, READY=1, exec done */
	AGENT_EV_EXITED,   /* the main process was reaped */
	AGENT_EV_TIMEOUT,  /* the state's deadline passed */
	AGENT_EV_WATCHDOG, /* no heartbeat within WatchdogSec */
	AGENT_EV_RESET,    /* reset-failed */
	_AGENT_EVENT_MAX,
};

/* What a stop leads to once the process tree is gone. */
enum agent_then {
	THEN_INACTIVE, /* stopped on request, or to be restarted by its group */
	THEN_FAILED,   /* its group failed */
	THEN_POLICY,   /* a failure (start timeout): apply Restart= */
};

/* Steps of a stop. */
enum stop_phase {
	STOP_NONE,
	STOP_INTERRUPT, /* INTERRUPT sent over the link */
	STOP_TERM,      /* SIGTERM sent */
	STOP_KILL,      /* SIGKILL sent to the whole tree */
	STOP_REAP,      /* main process gone, waiting for the rest */
};

#define LOG_RING_LINES	200
#define LOG_RING_BYTES	(32 * 1024)  /* per agent: 1,000 agents stay small */
#define LOG_LINE_MAX	2048

struct log_ring {
	char *lines[LOG_RING_LINES];
	unsigned head; /* next slot */
	unsigned count;
	size_t bytes;  /* of the lines kept */
	uint64_t total;
};

struct manager;
struct agent_group;

struct agent {
	struct manager *m;
	struct agent_group *group;
	struct unit_agent *unit; /* owned by m->units; repointed on reload */
	char name[PROTO_NAME_MAX + 1];
	unsigned instance;       /* 0 without Instances= */
	size_t order;            /* position in its group's start order */
	struct agent **deps;     /* After= resolved: agents it waits for */
	size_t n_deps;
	struct agent **rdeps;    /* agents that wait for it */
	size_t n_rdeps;

	enum agent_state state;
	bool want_up;
	bool stop_requested;     /* stop once the order allows (dispatch) */
	enum agent_then then;
	enum stop_phase stop_phase;
	char fail_reason[64];    /* why a stop counts as a failure */
	bool exit_clean;         /* the last exit was status 0 */
	bool marked;             /* scratch for reload */

	pid_t pid;               /* 0 when no process */
	pid_t pgid;              /* its process group (= first pid), kept after exit */
	int pidfd;
	sd_event_source *pidfd_src;
	usec_t spawned_at;
	usec_t ready_at;         /* 0 until running */
	usec_t stop_started;

	sd_event_source *timer;
	usec_t deadline;         /* of the current state; USEC_INFINITY none */
	usec_t wd_deadline;      /* watchdog; USEC_INFINITY none */

	uint32_t restarts;       /* restarts so far (status) */
	unsigned backoff_step;   /* consecutive failures */
	char last_exit[PROTO_NAME_MAX * 2 + 1];
	char status_text[128];
	char exit_report[128];

	int link_fd;             /* our end of the link (link.c), or -1 */
	sd_event_source *link_src;
	bool linked;             /* HELLO accepted */
	nng_msg **link_out;      /* waiting for room on link_fd */
	size_t link_out_n, link_out_cap;
	char inbox[256];          /* its inbox URL from HELLO */
	char *net_urls;          /* its network inboxes from HELLO, '\n'
				  * between them, or NULL (nameserver.c) */

	char *cgroup;            /* cgroup directory, NULL in pgid mode */
	bool cgroup_killed;      /* it got a cgroup.kill: make a new one */

	int log_r, log_w;        /* stdout+stderr pipe, kept across restarts */
	sd_event_source *log_src;
	char *log_partial;
	size_t log_partial_len;
	struct log_ring ring;
};

/* ---- groups ------------------------------------------------------------- */

struct agent_group {
	struct manager *m;
	struct unit_group *unit;
	char name[PROTO_NAME_MAX + 1];
	struct agent **agents; /* start order */
	size_t n_agents;
	size_t index;           /* in m->groups (start order) */
	bool failed;
	usec_t *history;        /* restart times, ring of history_cap >=
				 * Intensity entries (supervisor.c) */
	unsigned history_cap;
	unsigned n_history;
	unsigned history_head;
};

/* ---- events ------------------------------------------------------------- */

#define EVENT_RING_SIZE 1024

struct agentd_event {
	uint64_t seq;
	usec_t when; /* realtime */
	char name[PROTO_NAME_MAX + 1];
	enum agent_state from, to;
	pid_t pid;
	char detail[PROTO_NAME_MAX * 2 + 8]; /* "pid 12", last_exit, "" */
};

/* ---- long polls on the control socket (CTL_EVENTS, CTL_LOGS) ------------ */

#define WATCH_MAX	1024 /* parked long polls; past it the oldest is answered */

struct ctl_watch {
	struct ctl_watch *next;
	uint32_t type;        /* CTL_EVENTS / CTL_LOGS */
	uint64_t corr;
	void *header;         /* rep0 backtrace to answer through */
	size_t header_len;
	uint64_t since;       /* answer once this sequence number exists */
	uint32_t max;         /* events / lines per reply (0: default) */
	char name[PROTO_NAME_MAX + 1]; /* CTL_LOGS: the agent */
	usec_t deadline;      /* answer (empty) at the latest then */
};

/* ---- control requests waiting for agents to settle ---------------------- */

struct pending_ctl {
	struct pending_ctl *next;
	uint32_t type;        /* CTL_START / CTL_STOP / CTL_RESTART */
	uint64_t corr;
	void *header;         /* rep0 backtrace to answer through */
	size_t header_len;
	char **names;         /* agent instance names waited on */
	size_t n_names;
	unsigned count;       /* how many were acted on */
	usec_t deadline;
};

/* ---- nng listeners (listener.c) ----------------------------------------- */

struct nng_guard_pipe {
	uint32_t id;
	pid_t pid;
};

struct nng_guard {
	pthread_mutex_t lock;  /* the fields below it: notifier threads */
	struct nng_guard_pipe *live;
	size_t n_live, cap_live;
	uint64_t n_added;      /* pipes that reached the socket, ever */

	sd_event *event;
	nng_socket sock;
	nng_listener l;
	char path[108];
	char url[120];
	int mode;             /* of the socket file: 0600, 0660 */
	gid_t gid;            /* its group when mode is 0660 */
	int dupfd;
	sd_event_source *io;
	sd_event_source *timer;
	sd_event_source *idle;   /* periodic check: nng may accept a
				  * connection before the io source sees it */
	unsigned long prev[64];  /* pipe-less connections at the last check */
	size_t n_prev;
	uint64_t added_at_check; /* n_added when the check was armed */
	bool checking;           /* a check is armed */
	bool late_arrival;       /* a connection came while checking */
};

/* Listen on ipc://path (mode 0600) and restart the listener if nng stops
 * accepting. 0 or -errno. */
int nng_guard_listen(struct nng_guard *g, sd_event *e, nng_socket sock,
		     const char *path);
void nng_guard_close(struct nng_guard *g);
int nng_guard_init(struct nng_guard *g);
void nng_guard_done(struct nng_guard *g);
void nng_guard_pipe_event(struct nng_guard *g, nng_pipe p, nng_pipe_ev ev);

/* ---- sends a pipe cannot take yet (sendq.c) ------------------------------ */

struct sendq_item;
struct sendq {
	sd_event *event;
	nng_socket sock;
	const char *what;       /* for logs: "control", "nameserver" */
	struct sendq_item *head;
	size_t n;
	sd_event_source *timer;
};
/* Send msg (its pipe already set, or in its header) or queue it behind
 * what waits for the same pipe. Takes msg in every case. 0 or -errno
 * (-ENOBUFS: queue full; the message is dropped). */
int sendq_send(struct sendq *q, uint32_t pipe, nng_msg *msg);
void sendq_flush(struct sendq *q);
/* Drop whatever still waits. */
void sendq_done(struct sendq *q);
/* The requests waiting on a raw rep0 socket (the control socket, the
 * name server), a bounded batch per wake-up: handle(m, msg) for each
 * (msg is freed after it returns); failures are logged as "what". */
void rep_recv_batch(nng_socket sock, const char *what, struct manager *m,
		    void (*handle)(struct manager *m, nng_msg *msg));
/* Raw rep0: the pipe id a request's header (backtrace) starts with, 0 if
 * too short. */
uint32_t sendq_rep_pipe(const void *hdr, size_t hdr_len);
/* Answer the request whose rep0 header is hdr with msg (taken). */
void sendq_reply(struct sendq *q, const void *hdr, size_t hdr_len,
		 nng_msg *msg);
/* ...with CTL_RESULT [code, text], or CTL_ERROR when code < 0. */
void sendq_reply_result(struct sendq *q, const void *hdr, size_t hdr_len,
			uint64_t corr, int code, const char *text);

/* ---- the manager -------------------------------------------------------- */

enum manager_phase {
	PHASE_STARTING,
	PHASE_RUNNING,
	PHASE_STOPPING,
	PHASE_DONE,
};

struct manager {
	sd_event *event;
	char *units_dir;
	char *runtime_dir;
	bool no_cgroup;
	bool socket_group;    /* --socket-group: control.sock 0660 */
	gid_t socket_gid;
	struct unit_set *units;
	struct unit_set **old_units; /* still used by removed agents */
	size_t n_old_units;
	size_t build_added;

	struct agent_group **groups;   /* sorted by (Order, name) */
	size_t n_groups;
	struct agent **agents;   /* every instance, by group then start order */
	size_t n_agents;

	enum manager_phase phase;
	size_t cursor;           /* group being started / stopped */
	int exit_code;
	bool reload_pending;
	sd_event_source *dispatch_src;
	sd_event_source *sig_src[5];

	/* control */
	nng_socket ctl_sock;
	bool ctl_open;
	struct nng_guard ctl_guard;
	sd_event_source *ctl_src;
	struct pending_ctl *pending;
	struct sendq ctl_out;       /* replies waiting for their pipe */
	struct ctl_watch *watches;  /* parked long polls, newest first */
	size_t n_watches;
	sd_event_source *watch_defer; /* answers what became ready */
	sd_event_source *watch_timer; /* answers what timed out */

	/* notify */
	int notify_fd;
	sd_event_source *notify_src;
	char notify_path[108];

	/* cgroup: the directory under which each agent gets its own */
	char *cgroup_base;
	bool cgroup_created;  /* we created cgroup_base and remove it */

	int journal_fd;       /* agents' output to the journal (journal.c), or -1 */
	uint64_t journal_lost; /* lines journald did not take since the last it took */
	int null_fd;

	struct agentd_event events[EVENT_RING_SIZE];
	uint64_t event_seq;   /* last sequence number used */
};

/* supervisor.c */
const char *agent_state_to_string(enum agent_state s);
const char *agent_event_to_string(enum agent_event e);
void agent_handle_event(struct agent *a, enum agent_event ev);
void agent_exited(struct agent *a, const siginfo_t *si);
int manager_build(struct manager *m, struct unit_set *units);
void manager_free_agents(struct manager *m);
void manager_schedule_dispatch(struct manager *m);
bool manager_dispatch_pending(struct manager *m);
void manager_begin_shutdown(struct manager *m, int exit_code);
int manager_reload(struct manager *m, char **ret_msg);
struct agent *manager_find_agent(struct manager *m, const char *name);
struct agent *manager_find_pid(struct manager *m, pid_t pid);
void manager_status_counts(struct manager *m, unsigned *running,
			   unsigned *failed, unsigned *total);
/* Control verbs: return the number of agents acted on, or -errno. */
int agent_request_start(struct agent *a);
int agent_request_stop(struct agent *a);
int agent_request_restart(struct agent *a);
int agent_request_reset_failed(struct agent *a);
bool agent_is_settled_for(struct agent *a, uint32_t type);
void agent_watchdog_ping(struct agent *a);
void agent_set_status_text(struct agent *a, const char *s, size_t len);

/* process.c */
int proc_stat_read(pid_t pid, char *ret_state, pid_t *ret_ppid,
		   pid_t *ret_pgrp);
int process_spawn(struct agent *a, const char **ret_step);
void process_kill_main(struct agent *a, int sig);
void process_kill_tree(struct agent *a, int sig);
bool process_tree_empty(struct agent *a);
void process_reap_all(struct manager *m);
void process_sigchld(struct manager *m);
bool process_have_zombies(void);
void process_release(struct agent *a);
int cgroup_setup(struct manager *m);
void cgroup_cleanup(struct manager *m);
void cgroup_remove_agent(struct agent *a);

/* control.c */
int control_open(struct manager *m);
void control_close(struct manager *m);
void control_check_pending(struct manager *m);
/* Something a long poll may wait for happened (an event, a log line):
 * answer the watchers that can be answered, soon (from the loop). */
void control_watch_kick(struct manager *m);

/* link.c */
/* Before a start: a new socketpair for a (replacing any old one, watched
 * from the loop); *ret_child_fd is the agent's end (CLOEXEC, the caller
 * passes it to the child and closes it). 0 or -errno. */
int link_prepare(struct agent *a, int *ret_child_fd);
/* Read what the agent sent before it died (its exit report). */
void link_drain(struct agent *a);
/* Close a's link (after the process ended, or when the start failed). */
void link_release(struct agent *a);
/* a said HELLO on a live link. */
bool link_is_up(const struct agent *a);
int link_send_interrupt(struct agent *a, uint32_t level);

/* notify.c */
int notify_open(struct manager *m);
void notify_close(struct manager *m);

/* logs.c */
int logs_open_agent(struct agent *a);
void logs_close_agent(struct agent *a);
bool logs_drain(struct agent *a);

/* journal.c */
int journal_open(void);
int journal_send_line(int fd, const char *agent, const char *line, size_t len);
void log_ring_free(struct log_ring *r);
/* Sequence numbers of lines (from 1): the oldest kept line, and one past
 * the newest; the line seq (first <= seq < next). */
uint64_t log_ring_first_seq(const struct log_ring *r);
uint64_t log_ring_next_seq(const struct log_ring *r);
const char *log_ring_line(const struct log_ring *r, uint64_t seq);

/* events.c */
void events_record(struct manager *m, struct agent *a, enum agent_state from,
		   enum agent_state to);
/* The oldest sequence number still in the ring (event_seq + 1 if none). */
uint64_t events_first_seq(const struct manager *m);
/* The event with sequence number seq, which must be in the ring. */
const struct agentd_event *events_get(const struct manager *m, uint64_t seq);

#endif
