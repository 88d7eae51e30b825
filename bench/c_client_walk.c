/* bench_c_client_walk HOST:PORT [WINDOW]
 *
 * Reads the whole tree (children, data and stat of every node) with the
 * official C client, libzookeeper-mt, as fast as that client allows: a
 * breadth-first walk keeping WINDOW (default 1000) zoo_aget/zoo_aget_children
 * requests outstanding. This is the best a tool built on the C client can
 * do; ZooKeeper's C API has no multiRead.
 *
 * Prints {"nodes": N, "data_bytes": B, "errors": E} on stdout.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper.h>

/* A FIFO of paths whose reads are not issued yet. */
struct path_queue {
  char **items;
  size_t head, tail, capacity;
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct path_queue pending;
static long outstanding;
static int64_t nodes, data_bytes, errors;
static int connected;

static void push_path(char *path) {
  if (pending.tail == pending.capacity) {
    /* Compact first, grow only when the live part fills the array. */
    size_t live = pending.tail - pending.head;
    if (pending.head > 0 && live < pending.capacity / 2) {
      memmove(pending.items, pending.items + pending.head, live * sizeof(char *));
    } else {
      pending.capacity = pending.capacity ? pending.capacity * 2 : 4096;
      pending.items = realloc(pending.items, pending.capacity * sizeof(char *));
      if (!pending.items) abort();
      memmove(pending.items, pending.items + pending.head, live * sizeof(char *));
    }
    pending.head = 0;
    pending.tail = live;
  }
  pending.items[pending.tail++] = path;
}

static char *child_path(const char *parent, const char *name) {
  size_t parent_length = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
  size_t name_length = strlen(name);
  char *path = malloc(parent_length + name_length + 2);
  if (!path) abort();
  memcpy(path, parent, parent_length);
  path[parent_length] = '/';
  memcpy(path + parent_length + 1, name, name_length + 1);
  return path;
}

static void request_done(void) {
  --outstanding;
  pthread_cond_signal(&changed);
}

static void on_data(int rc, const char *value, int value_len, const struct Stat *stat,
                    const void *data) {
  (void)value;
  (void)stat;
  (void)data;
  pthread_mutex_lock(&mutex);
  if (rc == ZOK) {
    ++nodes;
    if (value_len > 0) data_bytes += value_len;
  } else if (rc != ZNONODE) {
    ++errors;
  }
  request_done();
  pthread_mutex_unlock(&mutex);
}

static void on_children(int rc, const struct String_vector *children, const void *data) {
  char *parent = (char *)data;
  pthread_mutex_lock(&mutex);
  if (rc == ZOK) {
    for (int32_t i = 0; i < children->count; ++i) {
      push_path(child_path(parent, children->data[i]));
    }
  } else if (rc != ZNONODE) {
    ++errors;
  }
  request_done();
  pthread_mutex_unlock(&mutex);
  free(parent);
}

static void on_session_event(zhandle_t *zh, int type, int state, const char *path, void *context) {
  (void)zh;
  (void)path;
  (void)context;
  if (type != ZOO_SESSION_EVENT) return;
  pthread_mutex_lock(&mutex);
  connected = state == ZOO_CONNECTED_STATE ? 1 : -1;
  pthread_cond_signal(&changed);
  pthread_mutex_unlock(&mutex);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_c_client_walk HOST:PORT [WINDOW]\n");
    return 2;
  }
  long window = argc > 2 ? atol(argv[2]) : 1000;
  if (window < 2) window = 2;
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t *zh = zookeeper_init(argv[1], on_session_event, 30000, NULL, NULL, 0);
  if (!zh) {
    perror("zookeeper_init");
    return 1;
  }
  pthread_mutex_lock(&mutex);
  while (connected == 0) pthread_cond_wait(&changed, &mutex);
  if (connected < 0) {
    fprintf(stderr, "bench_c_client_walk: could not connect to %s\n", argv[1]);
    return 1;
  }
  push_path(strdup("/"));
  for (;;) {
    /* Each path costs two requests: its data+stat and its children. */
    while (outstanding + 2 <= window && pending.head < pending.tail) {
      char *path = pending.items[pending.head++];
      outstanding += 2;
      pthread_mutex_unlock(&mutex);
      int rc_data = zoo_aget(zh, path, 0, on_data, NULL);
      int rc_children = zoo_aget_children(zh, path, 0, on_children, path);
      pthread_mutex_lock(&mutex);
      if (rc_data != ZOK || rc_children != ZOK) {
        fprintf(stderr, "bench_c_client_walk: submitting reads of %s failed\n", path);
        return 1;
      }
    }
    if (outstanding == 0 && pending.head == pending.tail) break;
    pthread_cond_wait(&changed, &mutex);
  }
  pthread_mutex_unlock(&mutex);
  zookeeper_close(zh);
  printf("{\"nodes\": %lld, \"data_bytes\": %lld, \"errors\": %lld}\n", (long long)nodes,
         (long long)data_bytes, (long long)errors);
  return errors == 0 ? 0 : 1;
}
