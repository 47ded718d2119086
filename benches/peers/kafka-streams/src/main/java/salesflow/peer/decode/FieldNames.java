package salesflow.peer.decode;

import java.util.HashMap;
import java.util.Map;

/** The fields a topic's values may carry: each spec name and the camelCase alias accepted for it. */
final class FieldNames {
    private final Map<String, Integer> slots = new HashMap<>();
    private final int count;

    /** {@code names[i]} is field i's spec name, optionally followed by {@code "|alias"}. */
    FieldNames(String... names) {
        count = names.length;
        for (int i = 0; i < names.length; i++) {
            for (String name : names[i].split("\\|")) {
                slots.put(name, i);
            }
        }
    }

    int count() {
        return count;
    }

    /** The slot of a field name (spec name or alias), or -1 for a field the topic ignores. */
    int slotOf(String name) {
        Integer slot = slots.get(name);
        return slot == null ? -1 : slot;
    }
}
