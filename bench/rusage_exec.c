/* bench_rusage_exec REPORT_FILE PROGRAM [ARGS...]
 *
 * Runs PROGRAM and writes its resource usage to REPORT_FILE as
 *   user_s system_s max_rss_kib exit_code
 * then exits with PROGRAM's exit code.
 *
 * Why not measure from the Python runner directly: Linux carries a
 * process's peak RSS across exec(), and a child forked (or vforked) from the
 * runner starts with the runner's own peak, tens of MB that grow as the
 * runner reads outputs. Forked from this tiny program, the floor is ~1 MB.
 * The figures cover PROGRAM and every descendant it waited for (zkCli.sh is
 * a shell script that starts java).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_rusage_exec REPORT_FILE PROGRAM [ARGS...]\n");
    return 2;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) < 0) {
    perror("wait4");
    return 2;
  }
  int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  FILE *report = fopen(argv[1], "w");
  if (!report) {
    perror(argv[1]);
    return 2;
  }
  fprintf(report, "%.6f %.6f %ld %d\n", seconds(usage.ru_utime), seconds(usage.ru_stime),
          usage.ru_maxrss, exit_code);
  fclose(report);
  return exit_code;
}
