package clusterkv.model;

/**
 * Rotary position embedding. Normal mode rotates adjacent pairs (2i, 2i+1), as llama.cpp does for
 * Llama (whose converter permutes Q/K rows to match); NeoX mode rotates (i, i + ropeDim/2).
 * Only the first ropeDim dimensions of a head rotate.
 */
final class Rope {

    private final int headDim;
    private final int ropeDim;
    private final boolean neox;
    private final float thetaScale;
    private final float[] frequencyFactors;
    private final float positionScale;

    Rope(ModelConfig c, float[] frequencyFactors) {
        this.headDim = c.headDim();
        this.ropeDim = c.ropeDim();
        this.neox = c.ropeNeox();
        this.positionScale = 1f / c.ropeLinearScale();
        this.thetaScale = (float) Math.pow(c.ropeTheta(), -2.0 / ropeDim);
        this.frequencyFactors = frequencyFactors;
    }

    /** Rotates every head of one token's vector in place: vec[offset + h*headDim ...], heads heads. */
    void apply(float[] vec, int offset, int heads, int position) {
        int half = ropeDim / 2;
        // Angles in float by repeated multiplication, as ggml computes them: at long contexts the
        // rounding of a double-precision formula differs from llama.cpp's by a visible amount.
        float theta = position;
        for (int i = 0; i < half; i++, theta *= thetaScale) {
            float angle = positionScale * (frequencyFactors == null ? theta : theta / frequencyFactors[i]);
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            int a = neox ? i : 2 * i;
            int b = neox ? i + half : 2 * i + 1;
            for (int h = 0; h < heads; h++) {
                int base = offset + h * headDim;
                float x0 = vec[base + a];
                float x1 = vec[base + b];
                vec[base + a] = x0 * cos - x1 * sin;
                vec[base + b] = x0 * sin + x1 * cos;
            }
        }
    }
}
