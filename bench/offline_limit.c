// bench_offline_limit INPUT OUTPUT_LIKE: the floor of an offline read on this
// machine. Reads INPUT whole from the page cache (what cat > /dev/null
// does: read() in 1 MiB steps) and copies as many bytes as OUTPUT_LIKE holds
// (zkarrow's Arrow file) with memcpy between buffers already paged in.
// Prints {"nodes": null, "read_s": R, "memcpy_s": M, "input_bytes": I, "output_bytes": O}.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_offline_limit INPUT OUTPUT_LIKE\n");
    return 2;
  }
  struct stat out_stat;
  if (stat(argv[2], &out_stat) != 0) {
    perror(argv[2]);
    return 1;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  enum { kStep = 1 << 20 };
  char* step = malloc(kStep);
  double started = now();
  long long input = 0;
  for (ssize_t n; (n = read(fd, step, kStep)) > 0;) input += n;
  double read_s = now() - started;
  close(fd);

  size_t size = (size_t)out_stat.st_size;
  char* from = malloc(size + 1);
  char* to = malloc(size + 1);
  if (from == NULL || to == NULL) return 1;
  memset(from, 1, size + 1);
  memset(to, 2, size + 1);
  started = now();
  memcpy(to, from, size);
  double memcpy_s = now() - started;
  printf("{\"nodes\": null, \"read_s\": %.4f, \"memcpy_s\": %.4f, \"input_bytes\": %lld, "
         "\"output_bytes\": %zu, \"check\": %d}\n",
         read_s, memcpy_s, input, size, to[size / 2]);
  free(step);
  free(from);
  free(to);
  return 0;
}
