package clusterkv.model;

import clusterkv.gguf.GGUFFormatException;

/** The model families the engine runs; all share one forward pass with small switches. */
public enum Architecture {
    LLAMA("llama", false),
    QWEN2("qwen2", true),
    QWEN3("qwen3", true);

    public final String ggufName;
    /** Qwen models rotate halves (NeoX style); llama.cpp's llama converter permutes Q/K for adjacent pairs. */
    public final boolean ropeNeox;

    Architecture(String ggufName, boolean ropeNeox) {
        this.ggufName = ggufName;
        this.ropeNeox = ropeNeox;
    }

    public static Architecture fromName(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) return a;
        }
        throw new GGUFFormatException("unsupported architecture '" + name + "' (supported: llama, qwen2, qwen3)");
    }
}
