/*
 * Child processes: each in its own process group, killed with the test
 * process, stopped with SIGTERM and then SIGKILL, always reaped.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define STOP_GRACE_MS 3000
#define MAX_ENV       512

extern char **environ;

/* Resolves a bare program name through PATH before fork, so the child only
 * has to call execve. */
static int resolve_program(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	if (strchr(name, '/') != NULL) {
		snprintf(out, outlen, "%s", name);
		return 0;
	}
	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, outlen, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	test_log("program not found in PATH: %s", name);
	return -1;
}

static bool overridden(const char *entry, char *const extra[])
{
	size_t len = strcspn(entry, "=");

	for (size_t i = 0; extra && extra[i]; i++) {
		if (strncmp(extra[i], entry, len) == 0 && extra[i][len] == '=')
			return true;
	}
	return false;
}

/* The current environment with extra entries added or replaced. */
static void build_env(char *env[], char *const extra[])
{
	size_t n = 0;

	for (size_t i = 0; environ[i] && n < MAX_ENV - 16; i++) {
		if (!overridden(environ[i], extra))
			env[n++] = environ[i];
	}
	for (size_t i = 0; extra && extra[i] && n < MAX_ENV - 1; i++)
		env[n++] = extra[i];
	env[n] = NULL;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void exec_child(pid_t parent, const char *program, char *const argv[],
                       char *const env[], int in_fd, int out_fd, int err_fd)
{
	sigset_t all;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(126);
	execve(program, argv, env);
	_exit(127);
}

static pid_t fork_exec(char *const argv[], char *const env_extra[], int in_fd,
                       int out_fd, int err_fd)
{
	char program[PATH_MAX];
	char *env[MAX_ENV];
	pid_t parent = getpid(), pid;

	if (resolve_program(argv[0], program, sizeof(program)) != 0)
		return -1;
	build_env(env, env_extra);
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		exec_child(parent, program, argv, env, in_fd, out_fd, err_fd);
	if (pid < 0) {
		test_log("fork: %s", strerror(errno));
		return -1;
	}
	/* Also from the parent, so a signal to the group right after this
	 * call cannot miss the child. */
	setpgid(pid, pid);
	return pid;
}

int test_process_spawn(struct test_process *p, const char *name,
                       char *const argv[], char *const env_extra[],
                       const char *output_path)
{
	int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out_fd =
	    open(output_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid_t pid = -1;

	if (in_fd >= 0 && out_fd >= 0)
		pid = fork_exec(argv, env_extra, in_fd, out_fd, out_fd);
	else
		test_log("cannot open %s: %s", output_path, strerror(errno));
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (pid < 0)
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->pid = pid;
	p->status = 0;
	return 0;
}

bool test_process_alive(struct test_process *p)
{
	int status;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->status = status;
		p->pid = 0;
		return false;
	}
	return true;
}

int test_process_wait(struct test_process *p, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (test_process_alive(p)) {
		if (test_now_ms() >= deadline)
			return -1;
		test_sleep_ms(10);
	}
	return 0;
}

void test_process_kill(struct test_process *p)
{
	int status;

	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	p->status = status;
	p->pid = 0;
}

int test_process_stop(struct test_process *p)
{
	if (p->pid <= 0)
		return -1;
	kill(-p->pid, SIGTERM);
	if (test_process_wait(p, test_timeout_ms(STOP_GRACE_MS)) == 0)
		return 0;
	test_log("%s (pid %d) ignored SIGTERM; killing it", p->name,
	         (int)p->pid);
	test_process_kill(p);
	return -1;
}

/* Appends what is readable on fd to buf; false at end of file. */
static bool drain(int fd, char *buf, size_t buflen, size_t *used)
{
	char scratch[4096];
	ssize_t n = read(fd, scratch, sizeof(scratch));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (*used + 1 < buflen) {
		size_t room = buflen - 1 - *used;
		size_t take = (size_t)n < room ? (size_t)n : room;

		memcpy(buf + *used, scratch, take);
		*used += take;
		buf[*used] = '\0';
	}
	return true;
}

static bool collect_output(int out_fd, int err_fd, long long deadline,
                           char *out, size_t outlen, char *err, size_t errlen)
{
	struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	size_t out_used = 0, err_used = 0;

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int left = (int)(deadline - test_now_ms());

		if (left <= 0 || poll(fds, 2, left) < 0) {
			if (left > 0 && errno == EINTR)
				continue;
			return false;
		}
		if (fds[0].revents && !drain(out_fd, out, outlen, &out_used))
			fds[0].fd = -1;
		if (fds[1].revents && !drain(err_fd, err, errlen, &err_used))
			fds[1].fd = -1;
	}
	return true;
}

int test_process_run(char *const argv[], int timeout_ms, char *out,
                     size_t outlen, char *err, size_t errlen)
{
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct test_process p = {.pid = 0};
	bool finished = false;
	pid_t pid = -1;

	out[0] = err[0] = '\0';
	if (in_fd >= 0 && pipe2(out_pipe, O_CLOEXEC) == 0 &&
	    pipe2(err_pipe, O_CLOEXEC) == 0)
		pid = fork_exec(argv, NULL, in_fd, out_pipe[1], err_pipe[1]);
	if (out_pipe[1] >= 0)
		close(out_pipe[1]);
	if (err_pipe[1] >= 0)
		close(err_pipe[1]);
	if (pid > 0) {
		p.pid = pid;
		snprintf(p.name, sizeof(p.name), "%s", argv[0]);
		finished = collect_output(out_pipe[0], err_pipe[0],
		                          test_now_ms() + timeout_ms, out,
		                          outlen, err, errlen) &&
		           test_process_wait(&p, timeout_ms) == 0;
		if (!finished)
			test_log("%s timed out after %d ms", argv[0],
			         timeout_ms);
		test_process_kill(&p);
	}
	if (out_pipe[0] >= 0)
		close(out_pipe[0]);
	if (err_pipe[0] >= 0)
		close(err_pipe[0]);
	if (in_fd >= 0)
		close(in_fd);
	if (!finished || !WIFEXITED(p.status))
		return -1;
	return WEXITSTATUS(p.status);
}
