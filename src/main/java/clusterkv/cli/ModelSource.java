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

/**
 * Turns a {@code -m} argument into a local file: a path as is, or {@code hf://owner/repo/file.gguf}
 * downloaded once from the Hugging Face hub into {@code ~/.cache/clusterkv/hf/} (or $CLUSTERKV_CACHE).
 */
final class ModelSource {

    private static final String PREFIX = "hf://";

    private ModelSource() {}

    static Path resolve(String spec) throws IOException, InterruptedException {
        if (!spec.startsWith(PREFIX)) {
            Path p = Path.of(spec);
            if (!Files.isRegularFile(p)) throw new NoSuchFileException(spec);
            return p;
        }
        String[] parts = spec.substring(PREFIX.length()).split("/", 3);
        if (parts.length < 3 || parts[2].isEmpty()) {
            throw new IllegalArgumentException("expected hf://owner/repo/file.gguf, got '" + spec + "'");
        }
        Path target = cacheDir().resolve(parts[0]).resolve(parts[1]).resolve(parts[2]);
        if (Files.isRegularFile(target)) return target;
        URI uri = URI.create("https://huggingface.co/" + parts[0] + "/" + parts[1] + "/resolve/main/" + parts[2]);
        download(uri, target);
        return target;
    }

    static Path cacheDir() {
        String env = System.getenv("CLUSTERKV_CACHE");
        return env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "clusterkv", "hf");
    }

    private static void download(URI uri, Path target) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(15)).build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new IOException("cannot download " + uri + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + " (offline? pass a local file with -m)");
        }
        if (response.statusCode() != 200) {
            response.body().close();
            throw new IOException("cannot download " + uri + ": HTTP " + response.statusCode());
        }
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long size = response.headers().firstValueAsLong("content-length").orElse(-1);
        try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(part);
             ProgressBar bar = new ProgressBarBuilder().setTaskName("download").setInitialMax(size)
                     .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", 1 << 20).showSpeed().build()) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                bar.stepBy(n);
            }
        } catch (IOException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
    }
}
