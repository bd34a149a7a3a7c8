package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

/** The kernel of each supported weight type. */
public final class RowKernels {

    private RowKernels() {}

    public static boolean supports(GGMLType type) {
        return kernel(type) != null;
    }

    /** The kernel for a type, or an error naming the tensor and its type. */
    public static RowKernel of(String tensorName, GGMLType type) {
        RowKernel k = kernel(type);
        if (k == null) {
            throw new UnsupportedTypeException("tensor '" + tensorName + "' has type " + type
                    + ", which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
        }
        return k;
    }

    private static RowKernel kernel(GGMLType type) {
        if (type == null) return null;
        return switch (type) {
            case F32 -> F32Kernel.INSTANCE;
            case F16 -> F16Kernel.INSTANCE;
            case BF16 -> BF16Kernel.INSTANCE;
            case Q8_0 -> Q8_0Kernel.INSTANCE;
            case Q4_0 -> Q4_0Kernel.INSTANCE;
            case Q4_1 -> Q4_1Kernel.INSTANCE;
            case Q5_0 -> Q5_0Kernel.INSTANCE;
            case Q5_1 -> Q5_1Kernel.INSTANCE;
            case Q4_K -> Q4_KKernel.INSTANCE;
            case Q5_K -> Q5_KKernel.INSTANCE;
            case Q6_K -> Q6_KKernel.INSTANCE;
            default -> null;
        };
    }
}
