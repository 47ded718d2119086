package salesflow.peer.decode;

/**
 * A record that is bad input (SPEC §2): it is not applied. The peer only needs to know that a
 * record is bad, not why, so this carries a short reason for debugging and no stack trace.
 */
public final class BadInput extends Exception {
    private static final long serialVersionUID = 1L;

    public BadInput(String reason) {
        super(reason, null, false, false);
    }
}
