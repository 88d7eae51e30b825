// java -cp bench/.cache/java:/usr/share/java/zookeeper.jar JavaMultiReadWalk HOST:PORT [BATCH] [IN_FLIGHT]
//
// Reads the whole tree (children, data and stat of every node) with
// ZooKeeper's own Java client the best way it offers: breadth-first, in
// batches of BATCH (default 100) nodes, each batch one multi() of
// Op.getData + Op.getChildren per node. A multi() of read ops only is sent
// as a multiRead request (ZooKeeper 3.6+; MultiOperationRecord.getOpKind()
// is READ), so a batch costs one round trip. IN_FLIGHT (default 16) batches
// are outstanding at once.
//
// Prints {"nodes": N, "data_bytes": B, "errors": E} on stdout.

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

public final class JavaMultiReadWalk {
  private final ZooKeeper zk;
  private final int batchSize;
  private final int maxInFlight;
  // Guarded by `this`.
  private final ArrayDeque<String> pending = new ArrayDeque<>();
  private int inFlight;
  private long nodes;
  private long dataBytes;
  private long errors;

  private JavaMultiReadWalk(ZooKeeper zk, int batchSize, int maxInFlight) {
    this.zk = zk;
    this.batchSize = batchSize;
    this.maxInFlight = maxInFlight;
  }

  private static String childPath(String parent, String name) {
    return parent.equals("/") ? "/" + name : parent + "/" + name;
  }

  // Sends batches while there is work and room; called with the lock held.
  private void submitBatches() {
    while (inFlight < maxInFlight && !pending.isEmpty()) {
      List<String> paths = new ArrayList<>(batchSize);
      List<Op> ops = new ArrayList<>(batchSize * 2);
      while (paths.size() < batchSize && !pending.isEmpty()) {
        String path = pending.poll();
        paths.add(path);
        ops.add(Op.getData(path));
        ops.add(Op.getChildren(path));
      }
      ++inFlight;
      zk.multi(ops, (rc, unusedPath, ctx, results) -> onBatch(rc, paths, results), null);
    }
    if (inFlight == 0 && pending.isEmpty()) notifyAll();
  }

  private synchronized void onBatch(int rc, List<String> paths, List<OpResult> results) {
    --inFlight;
    if (rc != KeeperException.Code.OK.intValue() || results == null) {
      errors += paths.size();
    } else {
      for (int i = 0; i < paths.size(); ++i) {
        OpResult data = results.get(2 * i);
        OpResult children = results.get(2 * i + 1);
        if (data instanceof OpResult.GetDataResult) {
          ++nodes;
          byte[] bytes = ((OpResult.GetDataResult) data).getData();
          if (bytes != null) dataBytes += bytes.length;
        } else if (!isNoNode(data)) {
          ++errors;
        }
        if (children instanceof OpResult.GetChildrenResult) {
          for (String name : ((OpResult.GetChildrenResult) children).getChildren()) {
            pending.add(childPath(paths.get(i), name));
          }
        } else if (!isNoNode(children)) {
          ++errors;
        }
      }
    }
    submitBatches();
  }

  private static boolean isNoNode(OpResult result) {
    return result instanceof OpResult.ErrorResult
        && ((OpResult.ErrorResult) result).getErr() == KeeperException.Code.NONODE.intValue();
  }

  private synchronized void run() throws InterruptedException {
    pending.add("/");
    submitBatches();
    while (inFlight > 0 || !pending.isEmpty()) wait();
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: JavaMultiReadWalk HOST:PORT [BATCH] [IN_FLIGHT]");
      System.exit(2);
    }
    int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int maxInFlight = args.length > 2 ? Integer.parseInt(args[2]) : 16;
    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper zk = new ZooKeeper(args[0], 30000, event -> {
      if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
    });
    if (!connected.await(30, TimeUnit.SECONDS)) {
      System.err.println("JavaMultiReadWalk: could not connect to " + args[0]);
      System.exit(1);
    }
    JavaMultiReadWalk walk = new JavaMultiReadWalk(zk, batchSize, maxInFlight);
    walk.run();
    zk.close();
    System.out.printf("{\"nodes\": %d, \"data_bytes\": %d, \"errors\": %d}%n",
        walk.nodes, walk.dataBytes, walk.errors);
    System.exit(walk.errors == 0 ? 0 : 1);
  }
}
