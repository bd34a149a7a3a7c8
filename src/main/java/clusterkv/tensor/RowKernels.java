package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

/** The kernel of each supported weight type. */
public final class RowKernels {

    private RowKernels() {}

    public static boolean supports(GGMLType type) {
        return switch (type) {
            case F32, F16 -> true;
            default -> false;
        };
    }

    /** The kernel for a type, or an error naming the tensor and its type. */
    public static RowKernel of(String tensorName, GGMLType type) {
        return switch (type) {
            case F32 -> F32Kernel.INSTANCE;
            case F16 -> F16Kernel.INSTANCE;
            default -> throw new UnsupportedTypeException("tensor '" + tensorName + "' has type " + type
                    + ", which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K)");
        };
    }
}
