package clusterkv.tensor;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The CPU's identity from /proc/cpuinfo, on excerpts of real files (two processors each, the first one counts). */
class CpuInfoTest {

    @Test
    void x86NamesCarryFamilyAndModelSinceVirtualMachinesHideTheModelNumber() {
        List<String> zen4UnderKvm = List.of(
                "processor\t: 0", "vendor_id\t: AuthenticAMD", "cpu family\t: 25", "model\t\t: 17",
                "model name\t: AMD EPYC", "flags\t\t: fpu sse4_2 avx f16c fma avx2 avx512f avx512vl avx512_vnni hypervisor",
                "", "processor\t: 1", "cpu family\t: 25", "model\t\t: 17", "model name\t: AMD EPYC", "flags\t\t: fpu");
        CpuInfo.Identity id = CpuInfo.identify(zen4UnderKvm, "amd64");
        assertEquals("AMD EPYC (family 25, model 17)", id.model());
        assertEquals(List.of("avx", "avx2", "avx512_vnni", "avx512f", "avx512vl", "f16c", "fma", "sse4_2"), id.features());
    }

    @Test
    void armHasNoModelNameButImplementerAndPart() {
        List<String> neoverseN1 = List.of(
                "processor\t: 0", "BogoMIPS\t: 50.00", "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
                "CPU implementer\t: 0x41", "CPU architecture: 8", "CPU variant\t: 0x3", "CPU part\t: 0xd0c", "CPU revision\t: 1");
        CpuInfo.Identity id = CpuInfo.identify(neoverseN1, "aarch64");
        assertEquals("aarch64 (implementer 0x41, part 0xd0c)", id.model());
        assertEquals(List.of("asimd", "asimddp"), id.features());
    }

    @Test
    void withoutProcCpuinfoTheArchitectureIsTheName() {
        CpuInfo.Identity id = CpuInfo.identify(List.of(), "amd64");
        assertEquals("amd64", id.model());
        assertEquals(List.of(), id.features());
    }
}
