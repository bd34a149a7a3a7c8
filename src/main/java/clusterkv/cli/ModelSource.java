package clusterkv.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Turns a {@code -m} argument into a local file: a path as is, or {@code hf://owner/repo/file.gguf}
 * downloaded once from the Hugging Face hub into {@code ~/.cache/clusterkv/hf/} (or $CLUSTERKV_CACHE).
 */
final class ModelSource {

    private static final String PREFIX = "hf://";
    private static final String HUB = "https://huggingface.co/";
    /** A name on the hub; anything else (.., ., an empty segment, a backslash, a control character) could lead out of the cache folder. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.+=-]*");

    private ModelSource() {}

    static Path resolve(String spec) throws IOException, InterruptedException {
        return resolve(spec, cacheDir(), HUB);
    }

    /** As {@link #resolve(String)} with the cache folder and the hub's address given (tests). */
    static Path resolve(String spec, Path cache, String hub) throws IOException, InterruptedException {
        if (!spec.startsWith(PREFIX)) {
            Path p = Path.of(spec);
            if (!Files.isRegularFile(p)) throw new NoSuchFileException(spec);
            return p;
        }
        List<String> segments = segments(spec);
        Path target = inside(cache, cache.resolve(String.join("/", segments)));
        if (Files.isRegularFile(target)) return target;
        List<String> file = segments.subList(2, segments.size());
        URI uri = URI.create(hub + segments.get(0) + "/" + segments.get(1) + "/resolve/main/" + String.join("/", file));
        download(uri, target);
        return target;
    }

    /** owner, repo and the file's path in the repo, each a plain hub name. */
    private static List<String> segments(String spec) {
        String rest = spec.substring(PREFIX.length());
        List<String> segments = List.of(rest.split("/", -1));
        if (segments.size() < 3) throw new IllegalArgumentException("expected hf://owner/repo/file.gguf, got '" + spec + "'");
        for (String s : segments) {
            if (!SEGMENT.matcher(s).matches()) {
                throw new IllegalArgumentException("expected hf://owner/repo/file.gguf with names of letters, digits and _ . + = - "
                        + "(not starting with a dot), got '" + spec + "'");
            }
        }
        return segments;
    }

    /** The target, refused unless it lies inside the cache folder; the result is what is read or downloaded. */
    private static Path inside(Path cache, Path target) {
        Path root = cache.toAbsolutePath().normalize();
        Path t = target.toAbsolutePath().normalize();
        if (!t.startsWith(root) || t.equals(root)) throw new IllegalArgumentException("model source " + t + " lies outside the cache folder " + root);
        return t;
    }

    static Path cacheDir() {
        String env = System.getenv("CLUSTERKV_CACHE");
        return env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "clusterkv", "hf");
    }

    /** Downloads into a temporary file beside the target, moved into place atomically: never a half file under the real name. */
    private static void download(URI uri, Path target) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(15)).build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new IOException("cannot download " + uri + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + " (offline? pass a local file with -m)");
        }
        if (response.statusCode() != 200) {
            response.body().close();
            throw new IOException("cannot download " + uri + ": HTTP " + response.statusCode());
        }
        Files.createDirectories(target.getParent());
        Path part = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".part");
        long size = response.headers().firstValueAsLong("content-length").orElse(-1);
        try {
            try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(part);
                 ProgressBar bar = new ProgressBarBuilder().setTaskName("download").setInitialMax(size)
                         .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", 1 << 20).showSpeed().build()) {
                byte[] buf = new byte[1 << 20];
                long total = 0;
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    bar.stepBy(n);
                    total += n;
                }
                if (size >= 0 && total != size) throw new IOException("cannot download " + uri + ": got " + total + " of " + size + " bytes");
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part); // after a failure; a no-op once moved
        }
    }
}
