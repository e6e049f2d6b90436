/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - start one agent process: clone(CLONE_VM|CLONE_VFORK) (or
 * clone3(CLONE_VFORK|CLONE_INTO_CGROUP) into a cgroup) + execve,
 * with only async-signal-safe system calls in between. Everything the child
 * needs (argv, envp, the resolved program path, uid/gid/groups) is prepared
 * by the caller before the call; a CLOEXEC pipe carries a failure of any
 * step back as (step, errno), so exec errors are reported synchronously.
 */
#ifndef AGENTD_SPAWN_H
#define AGENTD_SPAWN_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SPAWN_PID_SLOT 11
#define SPAWN_LINK_FD 3 /* where the child finds link_fd */

struct spawn_params {
	const char *path;       /* program to execve (absolute) */
	char *const *argv;      /* NULL-terminated */
	char *const *envp;      /* NULL-terminated */
	const char *cwd;        /* NULL: stay in agentd's directory */
	int stdin_fd;           /* dup2'ed to 0 */
	int stdout_fd;          /* dup2'ed to 1 and 2 */
	int link_fd;            /* >= 0: dup2'ed to SPAWN_LINK_FD (kept
				 * open across execve) */
	int cgroup_fd;          /* >= 0: the cgroup directory to start in
				 * (clone3 CLONE_INTO_CGROUP, else the child
				 * writes itself into its cgroup.procs) */
	bool cgroup_fresh;      /* the cgroup never got a cgroup.kill: clone3
				 * CLONE_INTO_CGROUP is safe (process.c) */
	bool set_rlimit_nofile;
	struct rlimit rlimit_nofile;
	bool set_user;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	int pdeathsig;          /* 0: none */
	char *pid_slot;         /* if set: the child writes its pid there, as
				 * decimal digits padded with NULs (a slot of
				 * SPAWN_PID_SLOT bytes inside an envp string,
				 * e.g. "WATCHDOG_PID=") */
};

/*
 * Start the process. Returns 0 with *ret_pid set (the child is in its own
 * session and exec succeeded), or -errno of the failed step with
 * *ret_step naming it ("execve", "chdir", ...); a child that failed has
 * already been reaped.
 */
int spawn_process(const struct spawn_params *p, pid_t *ret_pid,
		  const char **ret_step);

/* Find a bare program name in PATH (or a default PATH). 0 and a malloc'ed
 * absolute path, or -ENOENT. */
int spawn_find_program(const char *name, const char *path_env, char **ret);

#endif
