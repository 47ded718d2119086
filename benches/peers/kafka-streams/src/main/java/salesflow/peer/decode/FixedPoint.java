package salesflow.peer.decode;

import java.math.BigInteger;

/**
 * Exact decimal text to an integer count of 10^-scale units, as salesflow's {@code parse_fixed}
 * (src/codecs/json.rs): {@code [+-]digits[.digits][(e|E)[+-]digits]}; a non-zero digit finer
 * than 10^-scale is an error, never a rounding; the result must fit a signed 64-bit integer.
 */
final class FixedPoint {
    private FixedPoint() {}

    /** Exponents are clamped here, like the Rust code: beyond it the value is out of range anyway. */
    private static final long EXPONENT_CAP = 1_000_000_000L;
    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    /** The value of {@code text} in 10^-scale units; throws when it is no number, too precise or too large. */
    static long parse(String text, int scale) throws BadInput {
        int length = text.length();
        int at = 0;
        boolean negative = false;
        if (at < length && (text.charAt(at) == '-' || text.charAt(at) == '+')) {
            negative = text.charAt(at) == '-';
            at++;
        }
        int intStart = at;
        at = skipDigits(text, at);
        int intEnd = at;
        int fracStart = at;
        int fracEnd = at;
        if (at < length && text.charAt(at) == '.') {
            fracStart = at + 1;
            at = skipDigits(text, fracStart);
            fracEnd = at;
        }
        if (intEnd == intStart && fracEnd == fracStart) {
            throw new BadInput("not a number");
        }
        long exponent = 0;
        if (at < length && (text.charAt(at) == 'e' || text.charAt(at) == 'E')) {
            at++;
            boolean expNegative = false;
            if (at < length && (text.charAt(at) == '-' || text.charAt(at) == '+')) {
                expNegative = text.charAt(at) == '-';
                at++;
            }
            int expStart = at;
            at = skipDigits(text, at);
            if (at == expStart) {
                throw new BadInput("not a number");
            }
            for (int i = expStart; i < at; i++) {
                exponent = Math.min(exponent * 10 + (text.charAt(i) - '0'), EXPONENT_CAP);
            }
            if (expNegative) {
                exponent = -exponent;
            }
        }
        if (at != length) {
            throw new BadInput("not a number");
        }

        // The digits of int ++ frac, without leading and trailing zeros.
        String digits = text.substring(intStart, intEnd) + text.substring(fracStart, fracEnd);
        int leading = 0;
        while (leading < digits.length() && digits.charAt(leading) == '0') {
            leading++;
        }
        if (leading == digits.length()) {
            return 0;
        }
        int trailing = 0;
        while (digits.charAt(digits.length() - 1 - trailing) == '0') {
            trailing++;
        }
        int significant = digits.length() - leading - trailing;
        long power = exponent - (fracEnd - fracStart) + trailing;
        long shift = power + scale;
        if (shift < 0) {
            throw new BadInput("too precise");
        }
        if (significant + shift > 19) {
            throw new BadInput("out of range");
        }
        if (significant + shift <= 18) {
            // Below 10^18: plain long arithmetic cannot overflow.
            long value = 0;
            for (int i = leading; i < leading + significant; i++) {
                value = value * 10 + (digits.charAt(i) - '0');
            }
            for (long i = 0; i < shift; i++) {
                value *= 10;
            }
            return negative ? -value : value;
        }
        BigInteger value = new BigInteger(digits.substring(leading, leading + significant))
                .multiply(BigInteger.TEN.pow((int) shift));
        if (negative) {
            value = value.negate();
        }
        if (value.compareTo(LONG_MIN) < 0 || value.compareTo(LONG_MAX) > 0) {
            throw new BadInput("out of range");
        }
        return value.longValue();
    }

    private static int skipDigits(String text, int at) {
        while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
            at++;
        }
        return at;
    }
}
