package salesflow.peer.serde;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Appends fields to a growing byte array: the write half of the internal binary formats. */
final class BinaryWriter {
    private byte[] bytes = new byte[64];
    private int size;

    BinaryWriter writeLong(long value) {
        // Unsigned LEB128 of the zig-zag value: small numbers, the common case, take one byte.
        long zigzag = (value << 1) ^ (value >> 63);
        while ((zigzag & ~0x7FL) != 0) {
            put((byte) ((zigzag & 0x7F) | 0x80));
            zigzag >>>= 7;
        }
        put((byte) zigzag);
        return this;
    }

    BinaryWriter writeBoolean(boolean value) {
        put((byte) (value ? 1 : 0));
        return this;
    }

    /** A string or null: its UTF-8 length + 1 (0 for null), then the bytes. */
    BinaryWriter writeString(String value) {
        if (value == null) {
            return writeLong(0);
        }
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        writeLong(utf8.length + 1L);
        ensure(utf8.length);
        System.arraycopy(utf8, 0, bytes, size, utf8.length);
        size += utf8.length;
        return this;
    }

    /** A decimal or null: its scale + 1 (0 for null), then its unscaled value. */
    BinaryWriter writeDecimal(BigDecimal value) {
        if (value == null) {
            return writeLong(0);
        }
        writeLong(value.scale() + 1L);
        if (value.unscaledValue().bitLength() < 64) {
            writeLong(0);
            return writeLong(value.unscaledValue().longValue());
        }
        byte[] unscaled = value.unscaledValue().toByteArray();
        writeLong(unscaled.length);
        ensure(unscaled.length);
        System.arraycopy(unscaled, 0, bytes, size, unscaled.length);
        size += unscaled.length;
        return this;
    }

    byte[] toBytes() {
        return Arrays.copyOf(bytes, size);
    }

    private void put(byte b) {
        ensure(1);
        bytes[size++] = b;
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }
}
