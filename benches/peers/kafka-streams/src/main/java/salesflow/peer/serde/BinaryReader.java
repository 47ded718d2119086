package salesflow.peer.serde;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Reads back what {@link BinaryWriter} wrote, field by field in the same order. */
final class BinaryReader {
    private final byte[] bytes;
    private int at;

    BinaryReader(byte[] bytes) {
        this.bytes = bytes;
    }

    long readLong() {
        long zigzag = 0;
        for (int shift = 0; ; shift += 7) {
            byte b = bytes[at++];
            zigzag |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                break;
            }
        }
        return (zigzag >>> 1) ^ -(zigzag & 1);
    }

    boolean readBoolean() {
        return bytes[at++] != 0;
    }

    String readString() {
        int length = (int) readLong() - 1;
        if (length < 0) {
            return null;
        }
        String value = new String(bytes, at, length, StandardCharsets.UTF_8);
        at += length;
        return value;
    }

    BigDecimal readDecimal() {
        int scale = (int) readLong() - 1;
        if (scale < 0) {
            return null;
        }
        int length = (int) readLong();
        if (length == 0) {
            return BigDecimal.valueOf(readLong(), scale);
        }
        BigInteger unscaled = new BigInteger(Arrays.copyOfRange(bytes, at, at + length));
        at += length;
        return new BigDecimal(unscaled, scale);
    }
}
