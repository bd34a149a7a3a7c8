import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures what hostile clients cost a running `clusterkv serve` on 127.0.0.1 (issue 16): while each abuse runs,
 * /health is polled every 20 ms (its slowest answer is reported) and the server's RSS is sampled; after each, a
 * greedy completion must equal the one answered before any abuse. Not a test: figures for the report.
 *
 * Usage: java scripts/AbuseServer.java PORT SERVER_PID [MB=15] [CLIENTS=12]   (see scripts/abuse-server)
 */
public class AbuseServer {

    static final String HOST = "127.0.0.1"; // never anywhere else
    static final String GREEDY = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 40, \"temperature\": 0}";
    static int port;
    static long pid;

    public static void main(String[] args) throws Exception {
        port = Integer.parseInt(args[0]);
        pid = Long.parseLong(args[1]);
        int mb = args.length > 2 ? Integer.parseInt(args[2]) : 15;
        int clients = args.length > 3 ? Integer.parseInt(args[3]) : 12;
        awaitHealthy();
        String before = completionText();
        for (int i = 0; i < 5; i++) completionText(); // warm up before the idle figure
        Thread.sleep(500);
        long idle = status("VmRSS");
        Files.writeString(Path.of("/proc/" + pid + "/clear_refs"), "5"); // VmHWM from here on: the peak under abuse
        System.out.printf("idle RSS %d MiB; %d clients x %d MB each abuse; /health polled every 20 ms%n", idle >> 10, clients, mb);
        byte[] prompt = promptBody(mb << 20);
        byte[] underLimit = promptBody((4 << 20) - 1024);
        boolean allEqual = true;
        allEqual &= abuse("Content-Length 15 MB prompts", clients, () -> post(prompt, false));
        allEqual &= abuse("chunked 15 MB prompts", clients, () -> post(prompt, true));
        allEqual &= abuse("4 MB prompts (under the body limit)", clients, () -> post(underLimit, false));
        allEqual &= abuse("slowloris: partial headers", clients * 10, () -> partial("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        allEqual &= abuse("slowloris: partial body", clients * 10,
                () -> partial("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"prompt\": "));
        allEqual &= abuse("abandoned non-streaming requests", clients, AbuseServer::abandon);
        String after = completionText();
        allEqual &= after.equals(before);
        System.out.printf("RSS idle %d MiB, peak (VmHWM) %d MiB: %.2fx; answers after every abuse equal the first: %s%n",
                idle >> 10, status("VmHWM") >> 10, status("VmHWM") / (double) idle, allEqual);
    }

    interface Client {
        String run() throws Exception;
    }

    /** Runs the clients at once while polling /health; prints the outcome; returns whether the answer after is unchanged. */
    static boolean abuse(String name, int clients, Client client) throws Exception {
        String expected = completionText();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong worst = new AtomicLong(), peakRss = new AtomicLong();
        Thread monitor = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 30_000 && running.get(); i++) { // 10 minutes at most
                long t0 = System.nanoTime();
                try {
                    if (!get("/health").startsWith("HTTP/1.1 200")) throw new IllegalStateException("/health not 200");
                } catch (Exception e) {
                    worst.set(Long.MAX_VALUE);
                }
                worst.accumulateAndGet(System.nanoTime() - t0, Math::max);
                peakRss.accumulateAndGet(status("VmRSS"), Math::max);
                sleep(20);
            }
        });
        long t0 = System.nanoTime();
        List<String> outcomes = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<String>> all = new ArrayList<>();
            for (int i = 0; i < clients; i++) all.add(pool.submit(client::run));
            for (Future<String> f : all) {
                try {
                    outcomes.add(f.get(120, TimeUnit.SECONDS));
                } catch (Exception e) {
                    outcomes.add("client error: " + e.getCause());
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        running.set(false);
        monitor.join();
        boolean same = completionText().equals(expected);
        System.out.printf("%-40s %5.1f s  max /health %s  RSS peak %d MiB  answers: %s  answer after unchanged: %s%n", name, seconds,
                worst.get() == Long.MAX_VALUE ? "FAILED" : String.format("%.1f ms", worst.get() / 1e6), peakRss.get() >> 10,
                summary(outcomes), same);
        return same;
    }

    static String summary(List<String> outcomes) {
        java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
        for (String o : outcomes) counts.merge(o, 1, Integer::sum);
        return counts.toString();
    }

    // ---------------------------------------------------------------- clients

    /** Sends the body (declared or chunked), then reads the status line; a refusal mid-body counts as what it says. */
    static String post(byte[] body, boolean chunked) throws IOException {
        try (Socket s = socket(60_000)) {
            OutputStream out = s.getOutputStream();
            String head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + body.length + "\r\n") + "\r\n";
            try {
                out.write(head.getBytes(StandardCharsets.US_ASCII));
                for (int off = 0; off < body.length; off += 1 << 16) {
                    int n = Math.min(1 << 16, body.length - off);
                    if (chunked) out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, off, n);
                    if (chunked) out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                if (chunked) out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException refusedMidBody) {
                // the server answered and closed before the whole body was sent: read what it said
            }
            return statusLine(s.getInputStream());
        }
    }

    /** Sends part of a request and waits for the server to drop the connection. */
    static String partial(String text) throws IOException {
        try (Socket s = socket(60_000)) {
            s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            long t0 = System.nanoTime();
            String line = statusLine(s.getInputStream());
            return (line.isEmpty() ? "dropped" : line) + " after " + Math.round((System.nanoTime() - t0) / 1e9) + " s";
        }
    }

    /** Sends a long non-streaming request, waits a while, then goes away without reading. */
    static String abandon() throws Exception {
        try (Socket s = socket(60_000)) {
            byte[] body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 100000, \"temperature\": 0}".getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            Thread.sleep(300);
        }
        return "abandoned";
    }

    // ---------------------------------------------------------------- plumbing

    static Socket socket(int timeoutMillis) throws IOException {
        Socket s = new Socket(HOST, port);
        s.setSoTimeout(timeoutMillis);
        return s;
    }

    static String statusLine(InputStream in) {
        StringBuilder line = new StringBuilder();
        try {
            for (int c; (c = in.read()) != -1 && c != '\r' && line.length() < 200; ) line.append((char) c);
        } catch (IOException reset) {
            return line.isEmpty() ? "reset" : line.toString();
        }
        return line.toString();
    }

    static String get(String path) throws IOException {
        try (Socket s = socket(10_000)) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static String completionText() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) { // a 429 while abandoned requests are still being noticed: retry
            try (Socket s = socket(60_000)) {
                byte[] body = GREEDY.getBytes(StandardCharsets.UTF_8);
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: "
                        + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().write(body);
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (answer.startsWith("HTTP/1.1 200")) {
                    int text = answer.indexOf("\"text\":");
                    return answer.substring(text, answer.indexOf("\"finish_reason\"", text));
                }
                if (!answer.startsWith("HTTP/1.1 429")) throw new IllegalStateException("completion failed: " + answer);
            }
            sleep(100);
        }
        throw new IllegalStateException("the server stayed busy");
    }

    static void awaitHealthy() throws InterruptedException {
        for (int i = 0; i < 600; i++) { // 60 s
            try {
                if (get("/health").startsWith("HTTP/1.1 200")) return;
            } catch (IOException notYet) {
                // still loading
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the server did not come up on port " + port);
    }

    /** A completion request whose prompt makes the body the given size. */
    static byte[] promptBody(int size) {
        String head = "{\"prompt\": \"", tail = "\", \"max_tokens\": 4}";
        StringBuilder b = new StringBuilder(size).append(head);
        while (b.length() < size - tail.length()) b.append("the cat sat on the mat ");
        b.setLength(size - tail.length());
        return b.append(tail).toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A field of /proc/PID/status, in KiB. */
    static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("\\D", ""));
            }
        } catch (IOException e) {
            throw new IllegalStateException("the server process " + pid + " is gone", e);
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
