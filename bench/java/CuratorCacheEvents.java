// java -cp bench/.cache/java:/usr/share/java/curator-recipes.jar:/usr/share/java/slf4j-nop.jar \
//     CuratorCacheEvents HOSTS ROOT SESSION_TIMEOUT_MS
//
// Curator's CuratorCache (Curator 5.4, from Debian) on ROOT, reporting what
// its listener is told, for watch_bench to compare with zkarrow watch and
// kazoo's TreeCache on the same tree and writer. Runs until stdin closes.
//
// Output (stdout), the same protocol as watch_treecache.py:
//   "ready" once the initial load is done, then one line per event,
//   "EVENT PATH CZXID MZXID SEQ NANOS": EVENT is created, changed or
//   deleted; SEQ the node's value read as a little-endian int64 when it is
//   8 bytes long (the bench writes sequence numbers), else -1; NANOS
//   System.nanoTime() when the listener was called (CLOCK_MONOTONIC on
//   Linux, the clock of the bench's steady_clock). When stdin closes, what
//   the cache holds: one "cached PATH CZXID MZXID SEQ 0" line per node.
// The listener only appends to a list; a second thread writes the lines
// every 100 ms, so printing does not slow the cache down.

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.retry.RetryForever;

public final class CuratorCacheEvents {
  // Guarded by `lines`.
  private static final List<String> lines = new ArrayList<>();

  private static void add(String line) {
    synchronized (lines) {
      lines.add(line);
    }
  }

  private static void drain(BufferedWriter out) throws IOException {
    List<String> taken;
    synchronized (lines) {
      if (lines.isEmpty()) return;
      taken = new ArrayList<>(lines);
      lines.clear();
    }
    for (String line : taken) {
      out.write(line);
      out.write('\n');
    }
    out.flush();
  }

  private static String describe(String event, ChildData data, long nanos) {
    long seq = -1;
    byte[] value = data.getData();
    if (value != null && value.length == 8) {
      seq = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
    long czxid = data.getStat() != null ? data.getStat().getCzxid() : 0;
    long mzxid = data.getStat() != null ? data.getStat().getMzxid() : 0;
    return event + " " + data.getPath() + " " + czxid + " " + mzxid + " " + seq + " " + nanos;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: CuratorCacheEvents HOSTS ROOT SESSION_TIMEOUT_MS");
      System.exit(2);
    }
    String hosts = args[0];
    String root = args[1];
    int sessionTimeoutMs = Integer.parseInt(args[2]);
    BufferedWriter out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    // Retry forever (every second): the bench cuts the connection on purpose.
    CuratorFramework client =
        CuratorFrameworkFactory.newClient(hosts, sessionTimeoutMs, 15000, new RetryForever(1000));
    client.start();
    if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
      System.err.println("CuratorCacheEvents: no connection to " + hosts + " within 60 s");
      System.exit(1);
    }
    CountDownLatch initialized = new CountDownLatch(1);
    CuratorCacheListener listener =
        CuratorCacheListener.builder()
            .forAll(
                (type, oldData, data) -> {
                  long now = System.nanoTime();
                  switch (type) {
                    case NODE_CREATED:
                      add(describe("created", data, now));
                      break;
                    case NODE_CHANGED:
                      add(describe("changed", data, now));
                      break;
                    case NODE_DELETED:
                      add(describe("deleted", oldData, now));
                      break;
                  }
                })
            .build();
    // Events of the initial load come before "ready" and are not reported.
    CuratorCache cache = CuratorCache.build(client, root);
    cache
        .listenable()
        .addListener(CuratorCacheListener.builder().forInitialized(initialized::countDown).build());
    cache.start();
    if (!initialized.await(120, TimeUnit.SECONDS)) {
      System.err.println("CuratorCacheEvents: the initial load took over 120 s");
      System.exit(1);
    }
    cache.listenable().addListener(listener);
    out.write("ready\n");
    out.flush();

    Thread writer =
        new Thread(
            () -> {
              try {
                while (!Thread.currentThread().isInterrupted()) {
                  Thread.sleep(100);
                  drain(out);
                }
              } catch (InterruptedException | IOException e) {
                // Stopping: main drains what is left.
              }
            });
    writer.start();
    while (System.in.read() != -1) {
      // Runs until the bench closes stdin.
    }
    writer.interrupt();
    writer.join();
    cache.stream().forEach(data -> add(describe("cached", data, 0)));
    drain(out);
    cache.close();
    client.close();
  }
}
