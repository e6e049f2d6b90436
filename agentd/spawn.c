/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - clone(CLONE_VM|CLONE_VFORK) + execve, as posix_spawn does it,
 * but with the steps a supervisor needs (setsid, PR_SET_PDEATHSIG, cgroup
 * placement, rlimits, credentials). The child shares agentd's memory until
 * execve, so it only makes raw system calls: no malloc, no locks, no stdio,
 * and credentials are changed with syscall() because glibc's setuid() would
 * broadcast to agentd's other threads (nng's) from the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define SPAWN_CLONE_INTO_CGROUP 0x200000000ULL

/* struct clone_args of <linux/sched.h> up to .cgroup (CLONE_ARGS_SIZE_VER2);
 * that header's CLONE_* macros would clash with <sched.h>'s. */
struct spawn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum spawn_step {
	STEP_SIGNALS,
	STEP_SETSID,
	STEP_PDEATHSIG,
	STEP_CGROUP,
	STEP_STDIO,
	STEP_RLIMIT,
	STEP_GROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_CHDIR,
	STEP_EXECVE,
	_STEP_MAX,
};

static const char *const step_names[_STEP_MAX] = {
	[STEP_SIGNALS] = "signals",
	[STEP_SETSID] = "setsid",
	[STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[STEP_CGROUP] = "cgroup placement",
	[STEP_STDIO] = "stdio",
	[STEP_RLIMIT] = "setrlimit(RLIMIT_NOFILE)",
	[STEP_GROUPS] = "setgroups",
	[STEP_SETGID] = "setgid",
	[STEP_SETUID] = "setuid",
	[STEP_CHDIR] = "chdir(WorkingDirectory)",
	[STEP_EXECVE] = "execve",
};

struct child_args {
	const struct spawn_params *p;
	pid_t parent;
	int err_fd;
	int cgroup_procs_fd;    /* >= 0: write ourselves into it */
	sigset_t old_mask;
};

static _noreturn_ void
child_fail(const struct child_args *c, int step)
{
	int msg[2] = { step, errno };

	(void)!write(c->err_fd, msg, sizeof(msg));
	_exit(127);
}

__attribute__((no_sanitize_address)) static int
child_main(void *arg)
{
	const struct child_args *c = arg;
	const struct spawn_params *p = c->p;
	struct sigaction sa;
	sigset_t empty;
	int sig;

	/* Dispositions are private to the child (no CLONE_SIGHAND). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < _NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);

	if (setsid() < 0)
		child_fail(c, STEP_SETSID);
	if (p->pdeathsig > 0) {
		if (prctl(PR_SET_PDEATHSIG, p->pdeathsig) < 0)
			child_fail(c, STEP_PDEATHSIG);
		/* agentd may have died before the prctl */
		if (getppid() != c->parent)
			_exit(127);
	}
	if (p->pid_slot) {
		/* our memory is agentd's until execve: only this slot is ours */
		char digits[SPAWN_PID_SLOT];
		unsigned v = (unsigned)getpid();
		int n = 0;

		do
			digits[n++] = (char)('0' + v % 10);
		while ((v /= 10) && n < SPAWN_PID_SLOT - 1);
		for (int i = 0; i < n; i++)
			p->pid_slot[i] = digits[n - 1 - i];
		p->pid_slot[n] = '\0';
	}
	if (c->cgroup_procs_fd >= 0 &&
	    write(c->cgroup_procs_fd, "0\n", 2) != 2)
		child_fail(c, STEP_CGROUP);
	if (dup2(p->stdin_fd, STDIN_FILENO) < 0 ||
	    dup2(p->stdout_fd, STDOUT_FILENO) < 0 ||
	    dup2(p->stdout_fd, STDERR_FILENO) < 0)
		child_fail(c, STEP_STDIO);
	if (p->set_rlimit_nofile &&
	    setrlimit(RLIMIT_NOFILE, &p->rlimit_nofile) < 0)
		child_fail(c, STEP_RLIMIT);
	if (p->set_user) {
		if (syscall(SYS_setgroups, p->n_groups, p->groups) < 0)
			child_fail(c, STEP_GROUPS);
		if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
			child_fail(c, STEP_SETGID);
		if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
			child_fail(c, STEP_SETUID);
	}
	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(c, STEP_CHDIR);
	/* Nothing of agentd's leaks into the agent, whatever its flags,
	 * but the link (dup2 clears CLOEXEC on the copy; a link_fd that is
	 * SPAWN_LINK_FD already has its flag cleared by hand). */
	if (p->link_fd >= 0) {
		if (p->link_fd == SPAWN_LINK_FD) {
			if (fcntl(SPAWN_LINK_FD, F_SETFD, 0) < 0)
				child_fail(c, STEP_STDIO);
		} else if (dup2(p->link_fd, SPAWN_LINK_FD) < 0)
			child_fail(c, STEP_STDIO);
		(void)syscall(SYS_close_range, SPAWN_LINK_FD + 1U, ~0U,
			      CLOSE_RANGE_CLOEXEC);
	} else
		(void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

	sigemptyset(&empty);
	if (sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
		child_fail(c, STEP_SIGNALS);
	execve(p->path, p->argv, p->envp);
	child_fail(c, STEP_EXECVE);
}

#define CHILD_STACK_SIZE (256 * 1024)

/* clone3() said ENOSYS/EINVAL/E2BIG once: do not ask again. */
static bool clone3_unsupported;

/*
 * Into a cgroup: clone3(CLONE_INTO_CGROUP) places the child at creation
 * (fork takes cgroup_threadgroup_rwsem for reading only), where a write to
 * cgroup.procs by the child waits for an RCU grace period while agentd
 * waits for the vfork child. CLONE_VFORK keeps the exec error synchronous.
 *
 * x86-64: CLONE_VM too, like clone(): the child runs child_main() on its
 * own stack. glibc 2.36 has no clone3() wrapper and the child cannot
 * return from syscall() on a new stack, so the system call is made here:
 * the child calls fn(arg) (kept in r8/r9, which the syscall instruction
 * preserves) and exits with its value; the parent falls through with the
 * pid or -errno. Elsewhere: without CLONE_VM, the child is a
 * copy-on-write copy of agentd that returns from syscall() on its copy of
 * this stack (costlier: page tables are copied and agentd takes write
 * faults afterwards). Returns the pid, or -1 with errno.
 */
static pid_t
clone3_into_cgroup(struct child_args *c, int cgroup_fd, void *stack,
		   size_t stack_size)
{
	struct spawn_clone_args ca = {
		.flags = CLONE_VFORK | SPAWN_CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgroup_fd,
	};
	long pid;

#if defined(__x86_64__)
	ca.flags |= CLONE_VM;
	ca.stack = (uint64_t)(uintptr_t)stack;
	ca.stack_size = stack_size;
	{
		register long rax __asm__("rax") = SYS_clone3;
		register void *rdi __asm__("rdi") = &ca;
		register size_t rsi __asm__("rsi") = sizeof(ca);
		register int (*r8)(void *) __asm__("r8") = child_main;
		register void *r9 __asm__("r9") = c;

		__asm__ volatile(
			"syscall\n\t"
			"test %%rax, %%rax\n\t"
			"jnz 1f\n\t"
			/* child: rsp is the top of the new stack (aligned) */
			"xor %%ebp, %%ebp\n\t"
			"mov %%r9, %%rdi\n\t"
			"call *%%r8\n\t"
			"mov %%eax, %%edi\n\t"
			"mov $60, %%eax\n\t" /* SYS_exit */
			"syscall\n\t"
			"hlt\n"
			"1:\n\t"
			: "+r"(rax)
			: "r"(rdi), "r"(rsi), "r"(r8), "r"(r9)
			: "rcx", "r11", "memory", "cc");
		pid = rax;
	}
	if (pid < 0) {
		errno = (int)-pid;
		return -1;
	}
	return (pid_t)pid;
#else
	(void)stack;
	(void)stack_size;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		(void)child_main(c); /* does not return */
	return (pid_t)pid;
#endif
}

int
spawn_process(const struct spawn_params *p, pid_t *ret_pid,
	      const char **ret_step)
{
	struct child_args c = { .p = p, .parent = getpid(),
				.cgroup_procs_fd = -1 };
	int pipefd[2];
	int msg[2];
	sigset_t all;
	void *stack;
	pid_t pid = -1;
	ssize_t n;
	int r = 0;
	bool done = false;

	*ret_step = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*ret_step = "pipe";
		return -errno;
	}
	c.err_fd = pipefd[1];
	/* No signal handler may run in the child while it shares our memory
	 * (or our copy of it: the handlers are agentd's). */
	sigfillset(&all);
	if (p->cgroup_fd >= 0 && p->cgroup_fresh && !clone3_unsupported) {
		stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			r = -errno;
			*ret_step = "mmap";
			goto out;
		}
		pthread_sigmask(SIG_SETMASK, &all, &c.old_mask);
		pid = clone3_into_cgroup(&c, p->cgroup_fd, stack,
					 CHILD_STACK_SIZE);
		if (pid < 0)
			r = -errno;
		pthread_sigmask(SIG_SETMASK, &c.old_mask, NULL);
		munmap(stack, CHILD_STACK_SIZE);
		if (pid >= 0)
			done = true;
		else if (r == -ENOSYS || r == -EINVAL || r == -E2BIG)
			clone3_unsupported = true;
		else {
			*ret_step = "clone3(CLONE_INTO_CGROUP)";
			goto out;
		}
		r = 0;
	}
	if (!done && p->cgroup_fd >= 0) {
		c.cgroup_procs_fd = openat(p->cgroup_fd, "cgroup.procs",
					   O_WRONLY | O_CLOEXEC);
		if (c.cgroup_procs_fd < 0) {
			r = -errno;
			*ret_step = "cgroup placement";
			goto out;
		}
	}
	if (!done) {
		stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			r = -errno;
			*ret_step = "mmap";
			goto out;
		}
		pthread_sigmask(SIG_SETMASK, &all, &c.old_mask);
		pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
		if (pid < 0)
			r = -errno;
		pthread_sigmask(SIG_SETMASK, &c.old_mask, NULL);
		munmap(stack, CHILD_STACK_SIZE);
		if (r < 0) {
			*ret_step = "clone";
			goto out;
		}
	}
	/* The child has exec'ed or exited: the pipe is final now. */
	pipefd[1] = safe_close(pipefd[1]);
	do
		n = read(pipefd[0], msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(msg)) {
		*ret_step = msg[0] >= 0 && msg[0] < _STEP_MAX ? step_names[msg[0]]
							       : "?";
		r = msg[1] > 0 ? -msg[1] : -EIO;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	if (n != 0) {
		/* cannot happen; do not leave a half-known child */
		*ret_step = "spawn pipe";
		r = -EIO;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	*ret_pid = pid;
out:
	safe_close(c.cgroup_procs_fd);
	safe_close(pipefd[0]);
	safe_close(pipefd[1]);
	return r;
}

int
spawn_find_program(const char *name, const char *path_env, char **ret)
{
	const char *p = path_env && *path_env ? path_env
			: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

	if (strchr(name, '/')) {
		char *d = strdup(name);

		if (!d)
			return -ENOMEM;
		*ret = d;
		return 0;
	}
	while (*p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char buf[PATH_MAX];

		if (len > 0 && len + strlen(name) + 2 < sizeof(buf)) {
			memcpy(buf, p, len);
			buf[len] = '/';
			strcpy(buf + len + 1, name);
			if (access(buf, X_OK) == 0) {
				char *d = strdup(buf);

				if (!d)
					return -ENOMEM;
				*ret = d;
				return 0;
			}
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return -ENOENT;
}
