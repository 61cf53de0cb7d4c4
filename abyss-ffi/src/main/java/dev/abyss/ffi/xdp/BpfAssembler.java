package dev.abyss.ffi.xdp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An assembler for eBPF instructions ({@code struct bpf_insn}: opcode, dst and src registers, a
 * 16-bit offset, a 32-bit immediate; 8 bytes little-endian, {@code BPF_LD_IMM64} takes two). Jumps
 * name a label; {@link #assemble()} resolves every label to the instruction offset the kernel
 * expects (counted from the instruction after the jump) and refuses one that is missing or out of
 * range.
 *
 * <p>Only what an XDP parser needs: 64-bit and 32-bit ALU with a register or an immediate, loads
 * from memory, 64-bit and 32-bit conditional jumps, calls of helpers, exit, and the map-fd load.
 */
public final class BpfAssembler {
    /** The registers: R0 return value, R1..R5 arguments (clobbered by calls), R6..R9 kept across calls, R10 frame pointer. */
    public static final class Reg {
        private Reg() {
        }

        /** R0: return value. */
        public static final int R0 = 0;
        /** R1: first argument (the context at entry). */
        public static final int R1 = 1;
        /** R2: second argument. */
        public static final int R2 = 2;
        /** R3: third argument. */
        public static final int R3 = 3;
        /** R4: fourth argument. */
        public static final int R4 = 4;
        /** R5: fifth argument. */
        public static final int R5 = 5;
        /** R6: callee-saved. */
        public static final int R6 = 6;
        /** R7: callee-saved. */
        public static final int R7 = 7;
        /** R8: callee-saved. */
        public static final int R8 = 8;
        /** R9: callee-saved. */
        public static final int R9 = 9;
        /** R10: the read-only frame pointer. */
        public static final int R10 = 10;
    }

    // instruction classes
    /** {@code BPF_LD}: class: loads of immediates (LD_IMM64). */
    public static final int BPF_LD = 0x00;
    /** {@code BPF_LDX}: class: loads from memory into a register. */
    public static final int BPF_LDX = 0x01;
    /** {@code BPF_JMP}: class: 64-bit compares and jumps, call, exit. */
    public static final int BPF_JMP = 0x05;
    /** {@code BPF_JMP32}: class: compares of the low 32 bits. */
    public static final int BPF_JMP32 = 0x06;
    /** {@code BPF_ALU}: class: 32-bit arithmetic. */
    public static final int BPF_ALU = 0x04;
    /** {@code BPF_ALU64}: class: 64-bit arithmetic. */
    public static final int BPF_ALU64 = 0x07;
    // sizes and modes
    /** {@code BPF_W}: size: 4 bytes. */
    public static final int BPF_W = 0x00;
    /** {@code BPF_H}: size: 2 bytes. */
    public static final int BPF_H = 0x08;
    /** {@code BPF_B}: size: 1 byte. */
    public static final int BPF_B = 0x10;
    /** {@code BPF_DW}: size: 8 bytes. */
    public static final int BPF_DW = 0x18;
    /** {@code BPF_IMM}: mode: an immediate. */
    public static final int BPF_IMM = 0x00;
    /** {@code BPF_MEM}: mode: memory at register + offset. */
    public static final int BPF_MEM = 0x60;
    // operand source
    /** {@code BPF_K}: source: the immediate. */
    public static final int BPF_K = 0x00;
    /** {@code BPF_X}: source: the src register. */
    public static final int BPF_X = 0x08;
    // ALU operations
    /** {@code BPF_ADD}: dst += src. */
    public static final int BPF_ADD = 0x00;
    /** {@code BPF_AND}: dst &amp;= src. */
    public static final int BPF_AND = 0x50;
    /** {@code BPF_MOV}: dst = src. */
    public static final int BPF_MOV = 0xb0;
    // jump operations
    /** {@code BPF_JA}: jump always. */
    public static final int BPF_JA = 0x00;
    /** {@code BPF_JEQ}: jump if equal. */
    public static final int BPF_JEQ = 0x10;
    /** {@code BPF_JGT}: jump if greater (unsigned). */
    public static final int BPF_JGT = 0x20;
    /** {@code BPF_JNE}: jump if not equal. */
    public static final int BPF_JNE = 0x50;
    /** {@code BPF_CALL}: call a helper. */
    public static final int BPF_CALL = 0x80;
    /** {@code BPF_EXIT}: return R0. */
    public static final int BPF_EXIT = 0x90;
    /** {@code BPF_JSET}: jump if dst &amp; src is not zero. */
    public static final int BPF_JSET = 0x40;
    /** {@code BPF_PSEUDO_MAP_FD}: LD_IMM64 src register: the immediate is a map's fd. */
    public static final int BPF_PSEUDO_MAP_FD = 1;

    private record Insn(int code, int dst, int src, int off, int imm, String target) {
    }

    private final List<Insn> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();

    /** An empty program. */
    public BpfAssembler() {
    }

    /**
     * {@return the instructions so far} (an LD_IMM64 counts two)
     */
    public int size() {
        return insns.size();
    }

    /**
     * Marks the next instruction with {@code name}.
     *
     * @param name a label no other instruction has
     * @return this
     */
    public BpfAssembler label(String name) {
        if (labels.putIfAbsent(name, insns.size()) != null) {
            throw new IllegalArgumentException("label '" + name + "' is defined twice");
        }
        return this;
    }

    private BpfAssembler emit(int code, int dst, int src, int off, int imm, String target) {
        if (dst < 0 || dst > 10 || src < 0 || src > 10) {
            throw new IllegalArgumentException("registers are R0..R10, were " + dst + ", " + src);
        }
        insns.add(new Insn(code, dst, src, off, imm, target));
        return this;
    }

    /**
     * dst = src (64-bit).
     *
     * @param dst register
     * @param src register
     * @return this
     */
    public BpfAssembler mov64(int dst, int src) {
        return emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0, null);
    }

    /**
     * dst = imm (64-bit, sign-extended).
     *
     * @param dst register
     * @param imm value
     * @return this
     */
    public BpfAssembler mov64Imm(int dst, int imm) {
        return emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm, null);
    }

    /**
     * dst += imm (64-bit).
     *
     * @param dst register
     * @param imm value
     * @return this
     */
    public BpfAssembler add64Imm(int dst, int imm) {
        return emit(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm, null);
    }

    /**
     * dst &amp;= imm (32-bit: the upper half becomes zero).
     *
     * @param dst register
     * @param imm value
     * @return this
     */
    public BpfAssembler and32Imm(int dst, int imm) {
        return emit(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm, null);
    }

    /**
     * dst = *(size *)(src + off).
     *
     * @param size {@link #BPF_B}, {@link #BPF_H}, {@link #BPF_W} or {@link #BPF_DW}
     * @param dst  register loaded
     * @param src  register holding the address
     * @param off  signed 16-bit offset
     * @return this
     */
    public BpfAssembler load(int size, int dst, int src, int off) {
        return emit(BPF_LDX | size | BPF_MEM, dst, src, off, 0, null);
    }

    /**
     * dst = the map whose fd is {@code mapFd} (LD_IMM64 with BPF_PSEUDO_MAP_FD; the kernel swaps in the map).
     *
     * @param dst   register
     * @param mapFd the map's file descriptor
     * @return this
     */
    public BpfAssembler loadMapFd(int dst, int mapFd) {
        emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, mapFd, null);
        return emit(0, 0, 0, 0, 0, null); // the second half: the upper 32 bits of the immediate
    }

    /**
     * if (dst OP imm) goto label, comparing all 64 bits (imm sign-extended).
     *
     * @param op    {@link #BPF_JEQ}, {@link #BPF_JNE}, {@link #BPF_JGT}, {@link #BPF_JSET}, ...
     * @param dst   register
     * @param imm   value
     * @param label where to go
     * @return this
     */
    public BpfAssembler jump64Imm(int op, int dst, int imm, String label) {
        return emit(BPF_JMP | op | BPF_K, dst, 0, 0, imm, label);
    }

    /**
     * if (dst OP imm) goto label, comparing the low 32 bits (so any u32 value compares as written).
     *
     * @param op    a jump operation
     * @param dst   register
     * @param imm   value
     * @param label where to go
     * @return this
     */
    public BpfAssembler jump32Imm(int op, int dst, int imm, String label) {
        return emit(BPF_JMP32 | op | BPF_K, dst, 0, 0, imm, label);
    }

    /**
     * if (dst OP src) goto label, 64-bit.
     *
     * @param op    a jump operation
     * @param dst   register
     * @param src   register
     * @param label where to go
     * @return this
     */
    public BpfAssembler jump64(int op, int dst, int src, String label) {
        return emit(BPF_JMP | op | BPF_X, dst, src, 0, 0, label);
    }

    /**
     * goto label.
     *
     * @param label where to go
     * @return this
     */
    public BpfAssembler jump(String label) {
        return emit(BPF_JMP | BPF_JA, 0, 0, 0, 0, label);
    }

    /**
     * Calls helper {@code id} (arguments in R1..R5, result in R0).
     *
     * @param id the helper's number
     * @return this
     */
    public BpfAssembler call(int id) {
        return emit(BPF_JMP | BPF_CALL, 0, 0, 0, id, null);
    }

    /**
     * return R0.
     *
     * @return this
     */
    public BpfAssembler exit() {
        return emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0, null);
    }

    /**
     * The program as the kernel reads it, labels resolved.
     *
     * @return 8 bytes an instruction, little-endian
     * @throws IllegalStateException when a jump names a label that is not defined or too far
     */
    public byte[] assemble() {
        ByteBuffer out = ByteBuffer.allocate(insns.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < insns.size(); i++) {
            Insn in = insns.get(i);
            int off = in.off;
            if (in.target != null) {
                Integer at = labels.get(in.target);
                if (at == null) {
                    throw new IllegalStateException("instruction " + i + " jumps to undefined label '" + in.target + "'");
                }
                off = at - (i + 1);
                if (off < Short.MIN_VALUE || off > Short.MAX_VALUE) {
                    throw new IllegalStateException("jump from " + i + " to '" + in.target + "' is out of range");
                }
            }
            out.put((byte) in.code);
            out.put((byte) ((in.src << 4) | in.dst));
            out.putShort((short) off);
            out.putInt(in.imm);
        }
        return out.array();
    }
}
