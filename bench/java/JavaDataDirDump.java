// java -cp bench/.cache/java:/usr/share/java/zookeeper.jar JavaDataDirDump restore|txnlog DIR
//
// ZooKeeper's own code on a data directory, as the peer of zkarrow's offline
// reader where ZooKeeper ships no command of its own:
//   restore: FileTxnSnapLog.restore (what a server does when it starts: the
//            newest valid snapshot, then every later transaction of the
//            logs), then the tree printed as SnapshotFormatter -d prints a
//            snapshot (path, stat, base64 data), depth first;
//   txnlog:  TxnLogToolkit's dump of every log.* file of DIR/version-2 in
//            zxid order, in one JVM (TxnLogToolkit itself takes one file).
// Writes the dump on stdout.

import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import org.apache.zookeeper.data.StatPersisted;
import org.apache.zookeeper.server.DataNode;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.persistence.FileTxnSnapLog;
import org.apache.zookeeper.server.persistence.TxnLogToolkit;

public final class JavaDataDirDump {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: JavaDataDirDump restore|txnlog DIR");
      System.exit(2);
    }
    File dir = new File(args[1]);
    if (args[0].equals("restore")) {
      restore(dir);
    } else {
      txnlog(dir);
    }
  }

  private static void restore(File dir) throws Exception {
    FileTxnSnapLog files = new FileTxnSnapLog(dir, dir);
    DataTree tree = new DataTree();
    files.restore(tree, new HashMap<>(), (header, record, digest) -> { });
    PrintStream out = new PrintStream(new java.io.BufferedOutputStream(System.out, 1 << 16), false);
    List<String> stack = new ArrayList<>();
    stack.add("/");
    while (!stack.isEmpty()) {
      String path = stack.remove(stack.size() - 1);
      DataNode node = tree.getNode(path);
      if (node == null) continue;
      synchronized (node) {
        StatPersisted s = node.stat;
        out.println(path);
        out.println("  cZxid = 0x" + Long.toHexString(s.getCzxid()));
        out.println("  ctime = " + new java.util.Date(s.getCtime()));
        out.println("  mZxid = 0x" + Long.toHexString(s.getMzxid()));
        out.println("  mtime = " + new java.util.Date(s.getMtime()));
        out.println("  pZxid = 0x" + Long.toHexString(s.getPzxid()));
        out.println("  cversion = " + s.getCversion());
        out.println("  dataVersion = " + s.getVersion());
        out.println("  aclVersion = " + s.getAversion());
        out.println("  ephemeralOwner = 0x" + Long.toHexString(s.getEphemeralOwner()));
        byte[] data = node.getData();
        out.println("  dataLength = " + (data == null ? 0 : data.length));
        if (data != null) out.println("  data = " + Base64.getEncoder().encodeToString(data));
        for (String child : node.getChildren()) {
          stack.add(path.equals("/") ? "/" + child : path + "/" + child);
        }
      }
    }
    out.flush();
  }

  private static void txnlog(File dir) throws Exception {
    File[] logs = new File(dir, "version-2").listFiles((d, name) -> name.startsWith("log."));
    if (logs == null) throw new IllegalArgumentException("no version-2 folder in " + dir);
    Arrays.sort(logs, (a, b) -> Long.compareUnsigned(zxid(a), zxid(b)));
    for (File log : logs) {
      try (TxnLogToolkit toolkit = new TxnLogToolkit(false, false, log.getPath(), true)) {
        toolkit.dump(null);
      }
    }
  }

  private static long zxid(File log) {
    return Long.parseUnsignedLong(log.getName().substring("log.".length()), 16);
  }
}
