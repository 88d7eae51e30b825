/* bench_c_client_copy SOURCE_HOSTS SOURCE_ROOT TARGET_HOSTS TARGET_ROOT [BATCH] [IN_FLIGHT]
 *                     [no-acl]
 *
 * zkcopy's approach with the official C client, libzookeeper-mt: the peer
 * of `zkarrow copy` in bench/treesync_bench. Reads the whole source tree
 * into memory (data, ACL and stat of every node, breadth first, keeping up
 * to 3000 zoo_aget/zoo_aget_acl/zoo_aget_children requests outstanding),
 * then creates it on the target in zoo_amulti transactions of up to BATCH
 * creates (default 1000, and under 900 KB), IN_FLIGHT (default 8) of them
 * outstanding on one session. ZooKeeper applies one session's requests in
 * order, so parents (read, and so created, before their children) always
 * exist when a batch holding their children arrives. Ephemeral nodes are
 * skipped; so is /zookeeper (the server's own subtree) when SOURCE_ROOT is
 * "/", as zkarrow and bench/kazoo_copy.py do. With "no-acl" the ACLs are
 * neither read nor copied (zkcopy's own behaviour: everything world-open),
 * the peer of `zkarrow copy --no-acl`.
 *
 * Prints {"znodes": N, "read_s": S, "write_s": S} on stdout.
 */
#define _POSIX_C_SOURCE 200809L
/* libzookeeper_mt: declares the synchronous calls too (zoo_create). */
#define THREADED
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper.h>

enum { kReadWindow = 3000, kBatchBytes = 900 * 1024 };

/* One source node, in the order its reads were sent: parents first. */
struct node {
  char* path; /* absolute on the source */
  char* data;
  int data_len;
  struct ACL_vector acl;
  int ephemeral;
  int missing; /* deleted while the copy read the tree */
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct node* nodes;
static size_t node_count, node_capacity, next_to_read;
static long outstanding;
static int64_t errors;
static int connected_sessions, failed_sessions;

static void* checked(void* pointer) {
  if (!pointer) abort();
  return pointer;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char* join(const char* parent, const char* name) {
  size_t parent_length = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
  size_t name_length = strlen(name);
  char* path = checked(malloc(parent_length + name_length + 2));
  memcpy(path, parent, parent_length);
  path[parent_length] = '/';
  memcpy(path + parent_length + 1, name, name_length + 1);
  return path;
}

/* REQUIRES: mutex held. */
static void add_node(char* path) {
  if (node_count == node_capacity) {
    node_capacity = node_capacity ? node_capacity * 2 : 4096;
    nodes = checked(realloc(nodes, node_capacity * sizeof(struct node)));
  }
  memset(&nodes[node_count], 0, sizeof(struct node));
  nodes[node_count++].path = path;
}

/* REQUIRES: mutex held. */
static void request_done(int rc, size_t index) {
  if (rc == ZNONODE) {
    nodes[index].missing = 1;
  } else if (rc != ZOK) {
    fprintf(stderr, "bench_c_client_copy: reading %s: %s\n", nodes[index].path, zerror(rc));
    ++errors;
  }
  --outstanding;
  pthread_cond_broadcast(&changed);
}

static void on_data(int rc, const char* value, int value_len, const struct Stat* stat,
                    const void* data) {
  size_t index = (size_t)(uintptr_t)data;
  pthread_mutex_lock(&mutex);
  if (rc == ZOK) {
    struct node* node = &nodes[index];
    node->data_len = value_len;
    if (value_len > 0) {
      node->data = checked(malloc((size_t)value_len));
      memcpy(node->data, value, (size_t)value_len);
    }
    node->ephemeral = stat->ephemeralOwner != 0;
  }
  request_done(rc, index);
  pthread_mutex_unlock(&mutex);
}

static void on_acl(int rc, struct ACL_vector* acl, struct Stat* stat, const void* data) {
  (void)stat;
  size_t index = (size_t)(uintptr_t)data;
  pthread_mutex_lock(&mutex);
  if (rc == ZOK) {
    /* The client frees `acl` after this returns: keep a deep copy. */
    struct ACL_vector* copy = &nodes[index].acl;
    copy->count = acl->count;
    copy->data = checked(calloc((size_t)acl->count + 1, sizeof(struct ACL)));
    for (int32_t i = 0; i < acl->count; ++i) {
      copy->data[i].perms = acl->data[i].perms;
      copy->data[i].id.scheme = checked(strdup(acl->data[i].id.scheme));
      copy->data[i].id.id = checked(strdup(acl->data[i].id.id));
    }
  }
  request_done(rc, index);
  pthread_mutex_unlock(&mutex);
}

static const char* source_root;
static int read_acls = 1;

static void on_children(int rc, const struct String_vector* children, const void* data) {
  size_t index = (size_t)(uintptr_t)data;
  pthread_mutex_lock(&mutex);
  if (rc == ZOK) {
    for (int32_t i = 0; i < children->count; ++i) {
      char* path = join(nodes[index].path, children->data[i]);
      if (strcmp(source_root, "/") == 0 && strcmp(path, "/zookeeper") == 0) {
        free(path);
        continue;
      }
      add_node(path);
    }
  }
  request_done(rc, index);
  pthread_mutex_unlock(&mutex);
}

static void on_session_event(zhandle_t* zh, int type, int state, const char* path, void* context) {
  (void)zh;
  (void)path;
  (void)context;
  if (type != ZOO_SESSION_EVENT) return;
  pthread_mutex_lock(&mutex);
  if (state == ZOO_CONNECTED_STATE) {
    ++connected_sessions;
  } else {
    ++failed_sessions;
  }
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&mutex);
}

static zhandle_t* connect_to(const char* hosts, int expected_sessions) {
  zhandle_t* zh = zookeeper_init(hosts, on_session_event, 30000, NULL, NULL, 0);
  if (!zh) {
    perror("zookeeper_init");
    exit(1);
  }
  pthread_mutex_lock(&mutex);
  while (connected_sessions < expected_sessions && failed_sessions == 0) {
    pthread_cond_wait(&changed, &mutex);
  }
  if (failed_sessions != 0) {
    fprintf(stderr, "bench_c_client_copy: could not connect to %s\n", hosts);
    exit(1);
  }
  pthread_mutex_unlock(&mutex);
  return zh;
}

static void read_tree(zhandle_t* zh) {
  pthread_mutex_lock(&mutex);
  add_node(checked(strdup(source_root)));
  for (;;) {
    /* Each node costs three requests (two without ACLs): data and stat,
     * ACL, children. */
    const long per_node = read_acls ? 3 : 2;
    while (outstanding + per_node <= kReadWindow && next_to_read < node_count) {
      size_t index = next_to_read++;
      const char* path = nodes[index].path;
      const void* tag = (const void*)(uintptr_t)index;
      outstanding += per_node;
      /* Unlocked while sending: the completion thread takes the lock. The
       * path stays put even if add_node moves the array. */
      pthread_mutex_unlock(&mutex);
      int rc_data = zoo_aget(zh, path, 0, on_data, tag);
      int rc_acl = read_acls ? zoo_aget_acl(zh, path, on_acl, tag) : ZOK;
      int rc_children = zoo_aget_children(zh, path, 0, on_children, tag);
      pthread_mutex_lock(&mutex);
      if (rc_data != ZOK || rc_acl != ZOK || rc_children != ZOK) {
        fprintf(stderr, "bench_c_client_copy: submitting reads of %s failed\n", path);
        exit(1);
      }
    }
    if (outstanding == 0 && next_to_read == node_count) break;
    pthread_cond_wait(&changed, &mutex);
  }
  pthread_mutex_unlock(&mutex);
}

static const struct ACL_vector* acl_of(const struct node* node) {
  return read_acls ? &node->acl : &ZOO_OPEN_ACL_UNSAFE;
}

/* One multi in flight: what its ops point into must outlive it. */
struct batch {
  zoo_op_t* ops;
  zoo_op_result_t* results;
  char** paths;
  int count;
};

static long batches_in_flight;

static void on_multi(int rc, const void* data) {
  struct batch* batch = (struct batch*)data;
  pthread_mutex_lock(&mutex);
  if (rc != ZOK) {
    for (int i = 0; i < batch->count; ++i) {
      if (batch->results[i].err != ZOK && batch->results[i].err != ZRUNTIMEINCONSISTENCY) {
        fprintf(stderr, "bench_c_client_copy: creating %s: %s\n", batch->paths[i],
                zerror(batch->results[i].err));
        break;
      }
    }
    ++errors;
  }
  --batches_in_flight;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&mutex);
  for (int i = 0; i < batch->count; ++i) free(batch->paths[i]);
  free(batch->paths);
  free(batch->ops);
  free(batch->results);
  free(batch);
}

static struct batch* new_batch(int capacity) {
  struct batch* batch = checked(calloc(1, sizeof(struct batch)));
  batch->ops = checked(calloc((size_t)capacity, sizeof(zoo_op_t)));
  batch->results = checked(calloc((size_t)capacity, sizeof(zoo_op_result_t)));
  batch->paths = checked(calloc((size_t)capacity, sizeof(char*)));
  return batch;
}

static void send_batch(zhandle_t* zh, struct batch* batch, long in_flight) {
  pthread_mutex_lock(&mutex);
  while (batches_in_flight >= in_flight) pthread_cond_wait(&changed, &mutex);
  ++batches_in_flight;
  pthread_mutex_unlock(&mutex);
  int rc = zoo_amulti(zh, batch->count, batch->ops, batch->results, on_multi, batch);
  if (rc != ZOK) {
    fprintf(stderr, "bench_c_client_copy: submitting a multi failed: %s\n", zerror(rc));
    exit(1);
  }
}

static char* target_path(const char* target_root, const char* source_path) {
  const char* relative = source_path + (strcmp(source_root, "/") == 0 ? 0 : strlen(source_root));
  if (strcmp(target_root, "/") == 0) return checked(strdup(*relative ? relative : "/"));
  size_t root_length = strlen(target_root);
  char* path = checked(malloc(root_length + strlen(relative) + 1));
  memcpy(path, target_root, root_length);
  strcpy(path + root_length, relative);
  return path;
}

/* The target root and its missing ancestors, synchronously (few nodes). */
static void create_root(zhandle_t* zh, const char* target_root, const struct node* root) {
  if (strcmp(target_root, "/") == 0) return;
  char* path = checked(strdup(target_root));
  for (char* slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
    if (slash) *slash = '\0';
    int rc = slash ? zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0)
                   : zoo_create(zh, path, root->data, root->data_len, acl_of(root), 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
      fprintf(stderr, "bench_c_client_copy: creating %s: %s\n", path, zerror(rc));
      exit(1);
    }
    if (!slash) break;
    *slash = '/';
  }
  free(path);
}

static int64_t write_tree(zhandle_t* zh, const char* target_root, int batch_size, long in_flight) {
  create_root(zh, target_root, &nodes[0]);
  int64_t written = 1;
  struct batch* batch = new_batch(batch_size);
  size_t bytes = 0;
  for (size_t i = 1; i < node_count; ++i) {
    const struct node* node = &nodes[i];
    if (node->missing || node->ephemeral) continue;
    char* path = target_path(target_root, node->path);
    size_t op_bytes = strlen(path) + (size_t)(node->data_len > 0 ? node->data_len : 0) + 64;
    for (int32_t a = 0; a < node->acl.count; ++a) {
      op_bytes += strlen(node->acl.data[a].id.scheme) + strlen(node->acl.data[a].id.id) + 12;
    }
    if (batch->count == batch_size || (batch->count > 0 && bytes + op_bytes > kBatchBytes)) {
      send_batch(zh, batch, in_flight);
      batch = new_batch(batch_size);
      bytes = 0;
    }
    batch->paths[batch->count] = path;
    zoo_create_op_init(&batch->ops[batch->count], path, node->data,
                       node->data_len >= 0 ? node->data_len : -1, acl_of(node), 0, NULL, 0);
    ++batch->count;
    bytes += op_bytes;
    ++written;
  }
  if (batch->count > 0) {
    send_batch(zh, batch, in_flight);
  } else {
    free(batch->paths);
    free(batch->ops);
    free(batch->results);
    free(batch);
  }
  pthread_mutex_lock(&mutex);
  while (batches_in_flight > 0) pthread_cond_wait(&changed, &mutex);
  pthread_mutex_unlock(&mutex);
  return written;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: bench_c_client_copy SOURCE_HOSTS SOURCE_ROOT TARGET_HOSTS TARGET_ROOT "
            "[BATCH] [IN_FLIGHT] [no-acl]\n");
    return 2;
  }
  source_root = argv[2];
  const char* target_root = argv[4];
  int batch_size = argc > 5 ? atoi(argv[5]) : 1000;
  long in_flight = argc > 6 ? atol(argv[6]) : 8;
  read_acls = !(argc > 7 && strcmp(argv[7], "no-acl") == 0);
  if (batch_size < 1) batch_size = 1;
  if (in_flight < 1) in_flight = 1;
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* source = connect_to(argv[1], 1);
  zhandle_t* target = connect_to(argv[3], 2);

  double started = now();
  read_tree(source);
  double read_done = now();
  if (errors != 0 || nodes[0].missing) {
    fprintf(stderr, "bench_c_client_copy: reading %s failed\n", source_root);
    return 1;
  }
  int64_t written = write_tree(target, target_root, batch_size, in_flight);
  double write_done = now();
  zookeeper_close(source);
  zookeeper_close(target);
  printf("{\"znodes\": %lld, \"read_s\": %.3f, \"write_s\": %.3f}\n", (long long)written,
         read_done - started, write_done - read_done);
  return errors == 0 ? 0 : 1;
}
