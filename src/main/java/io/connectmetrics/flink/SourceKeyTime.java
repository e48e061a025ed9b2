package io.connectmetrics.flink;

import java.io.IOException;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.StreamReadConstraints;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads one raw input record's key (ContactId / AgentARN) and event time by SPEC §2's rules.
 *
 * <p>Why: event time must be assigned at the Kafka source, per partition (SPEC §3), so Flink
 * keeps one watermark per split; that needs the event time in Java, before any Python operator.
 * The Python normalizers stay the one authority on validity and on every field: this reader
 * only has to agree with them on (key, event time) for every record they accept (held by
 * {@code tests/test_source_key_time.py}), and says "unreadable" ({@code null}) otherwise. It
 * mirrors the Python field lookup exactly: the documented spelling, then the spelling with the
 * first letter's case swapped, then the last distinct key that matches case-insensitively; a
 * duplicate key keeps its last value.
 *
 * <p>Records whose event time is outside [{@code minEventMs}, now + {@code maxFutureMs}] are
 * unreadable too: one such record would drag its partition's watermark (SPEC §3).
 */
public final class SourceKeyTime implements Serializable {

    private static final long serialVersionUID = 1L;

    public static final String CONTACT_EVENTS = "contact_events";
    public static final String CTRS = "ctrs";
    public static final String AGENT_EVENTS = "agent_events";

    /** Inputs of at least this many characters are unreadable (the Python MAX_RAW_SIZE). */
    public static final int MAX_RAW_SIZE = 1_048_576;

    /** One record's key and event time. */
    public static final class KeyTime {
        public final String key;
        public final long eventMs;

        KeyTime(String key, long eventMs) {
            this.key = key;
            this.eventMs = eventMs;
        }

        @Override
        public String toString() {
            return key + "@" + eventMs;
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(4096)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .build())
            .build());

    // Contact-event field spellings (as documented) and the event type -> its own timestamp.
    private static final String DETAIL = "detail";
    private static final String TIME = "time";
    private static final String CONTACT_ID = "contactId";
    private static final String EVENT_TYPE = "eventType";
    private static final String INITIATION_TS = "initiationTimestamp";
    private static final String CONNECTED_TO_SYSTEM_TS = "connectedToSystemTimestamp";
    private static final String DISCONNECT_TS = "disconnectTimestamp";
    private static final String QUEUE_INFO = "queueInfo";
    private static final String ENQUEUE_TS = "enqueueTimestamp";
    private static final String AGENT_INFO = "agentInfo";
    private static final String CONNECTED_TO_AGENT_TS = "connectedToAgentTimestamp";

    private final String stream;
    private final long minEventMs;
    private final long maxFutureMs;

    /**
     * @param stream contact_events, ctrs or agent_events
     * @param minEventMs earliest sane event time (epoch ms)
     * @param maxFutureMs how far ahead of the wall clock an event time may be; negative = no bound
     */
    public SourceKeyTime(String stream, long minEventMs, long maxFutureMs) {
        if (!CONTACT_EVENTS.equals(stream) && !CTRS.equals(stream) && !AGENT_EVENTS.equals(stream)) {
            throw new IllegalArgumentException("unknown stream " + stream);
        }
        this.stream = stream;
        this.minEventMs = minEventMs;
        this.maxFutureMs = maxFutureMs;
    }

    /** Key and event time of {@code raw} within the sanity bounds, or {@code null}. */
    public KeyTime read(String raw, long nowMs) {
        KeyTime kt = readUnbounded(stream, raw);
        if (kt == null || kt.eventMs < minEventMs) {
            return null;
        }
        if (maxFutureMs >= 0 && kt.eventMs > nowMs + maxFutureMs) {
            return null;
        }
        return kt;
    }

    /** Key and event time of {@code raw} by SPEC §2, or {@code null} (no sanity bounds). */
    public static KeyTime readUnbounded(String stream, String raw) {
        if (raw == null || tooLarge(raw)) {
            return null;
        }
        try (JsonParser p = MAPPER.getFactory().createParser(raw)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            KeyTime kt;
            switch (stream) {
                case CONTACT_EVENTS:
                    kt = contactEvent(p);
                    break;
                case CTRS:
                    kt = ctr(p);
                    break;
                default:
                    kt = agentEvent(p);
            }
            // The whole input must be one JSON object (orjson rejects trailing content).
            return kt != null && p.nextToken() == null ? kt : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean tooLarge(String raw) {
        return raw.length() >= MAX_RAW_SIZE && raw.codePointCount(0, raw.length()) >= MAX_RAW_SIZE;
    }

    // ---- the three record kinds ---------------------------------------------------------------

    private static KeyTime ctr(JsonParser p) throws IOException {
        Fields f = Fields.read(p, "ContactId", "LastUpdateTimestamp", "DisconnectTimestamp");
        String key = requiredText(f.get(0));
        long lastUpdate = requiredTimestamp(f.get(1));
        long disconnect = optionalTimestamp(f.get(2));
        if (key == null || lastUpdate == IsoTimestamps.INVALID || disconnect == IsoTimestamps.INVALID) {
            return null;
        }
        return new KeyTime(key, disconnect != ABSENT ? disconnect : lastUpdate);
    }

    private static KeyTime agentEvent(JsonParser p) throws IOException {
        Fields f = Fields.read(p, "AgentARN", "EventTimestamp");
        String key = requiredText(f.get(0));
        long eventMs = requiredTimestamp(f.get(1));
        return key == null || eventMs == IsoTimestamps.INVALID ? null : new KeyTime(key, eventMs);
    }

    private static KeyTime contactEvent(JsonParser p) throws IOException {
        Fields top = Fields.read(p, DETAIL, TIME, CONTACT_ID, EVENT_TYPE, INITIATION_TS,
                CONNECTED_TO_SYSTEM_TS, DISCONNECT_TS, QUEUE_INFO, AGENT_INFO);
        JsonNode detailNode = top.get(0);
        long envelopeMs = ABSENT;
        Lookup detail;
        if (detailNode != null && !detailNode.isNull()) {
            if (!detailNode.isObject()) {
                return null;
            }
            envelopeMs = optionalTimestamp(top.get(1));
            if (envelopeMs == IsoTimestamps.INVALID) {
                return null;
            }
            detail = new NodeLookup(detailNode);
        } else {
            detail = top;
        }
        String key = requiredText(detail.field(CONTACT_ID));
        String eventType = requiredText(detail.field(EVENT_TYPE));
        if (key == null || eventType == null) {
            return null;
        }
        long initiation = optionalTimestamp(detail.field(INITIATION_TS));
        long toSystem = optionalTimestamp(detail.field(CONNECTED_TO_SYSTEM_TS));
        long disconnect = optionalTimestamp(detail.field(DISCONNECT_TS));
        long enqueue = nestedTimestamp(detail.field(QUEUE_INFO), ENQUEUE_TS);
        long toAgent = nestedTimestamp(detail.field(AGENT_INFO), CONNECTED_TO_AGENT_TS);
        long[] all = {initiation, toSystem, disconnect, enqueue, toAgent};
        for (long t : all) {
            if (t == IsoTimestamps.INVALID) {
                return null;
            }
        }
        long typed;
        switch (eventType.toUpperCase(Locale.ROOT)) {
            case "INITIATED":
                typed = initiation;
                break;
            case "CONNECTED_TO_SYSTEM":
                typed = toSystem;
                break;
            case "QUEUED":
                typed = enqueue;
                break;
            case "CONNECTED_TO_AGENT":
                typed = toAgent;
                break;
            case "DISCONNECTED":
                typed = disconnect;
                break;
            default:
                typed = ABSENT;
        }
        if (typed != ABSENT) {
            return new KeyTime(key, typed);
        }
        if (envelopeMs != ABSENT) {
            return new KeyTime(key, envelopeMs);
        }
        // A bare COMPLETED / CONTACT_DATA_UPDATED / ...: the latest lifecycle timestamp it has.
        for (long t : new long[] {disconnect, toAgent, enqueue, toSystem, initiation}) {
            if (t != ABSENT) {
                return new KeyTime(key, t);
            }
        }
        return null;
    }

    // ---- typed values (the Python json_fields readers' rules) -------------------------------

    /** An optional timestamp that is absent (null, "" or missing). */
    private static final long ABSENT = Long.MAX_VALUE;

    /** req_text: a non-empty string, else null. */
    private static String requiredText(JsonNode v) {
        return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
    }

    /** req_timestamp: epoch ms, or INVALID (also when absent). */
    private static long requiredTimestamp(JsonNode v) {
        return v == null || v.isNull() ? IsoTimestamps.INVALID : timestamp(v);
    }

    /** opt_timestamp: ABSENT for null / "" / missing, INVALID when malformed. */
    private static long optionalTimestamp(JsonNode v) {
        if (v == null || v.isNull() || (v.isTextual() && v.textValue().isEmpty())) {
            return ABSENT;
        }
        return timestamp(v);
    }

    private static long timestamp(JsonNode v) {
        return v.isTextual() ? IsoTimestamps.parse(v.textValue()) : IsoTimestamps.INVALID;
    }

    /** opt_obj + opt_timestamp of one of its fields. */
    private static long nestedTimestamp(JsonNode obj, String field) {
        if (obj == null || obj.isNull()) {
            return ABSENT;
        }
        if (!obj.isObject()) {
            return IsoTimestamps.INVALID;
        }
        return optionalTimestamp(new NodeLookup(obj).field(field));
    }

    // ---- case-insensitive field lookup, as udfs/json_fields.Obj.get --------------------------

    private interface Lookup {
        JsonNode field(String name);
    }

    private static String swapped(String name) {
        char c = name.charAt(0);
        char s = Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c);
        return s + name.substring(1);
    }

    /** Lookup in a JSON object already read as a tree (a contact event's detail, queueInfo...). */
    private static final class NodeLookup implements Lookup {
        private final JsonNode node;

        NodeLookup(JsonNode node) {
            this.node = node;
        }

        @Override
        public JsonNode field(String name) {
            if (node.has(name)) {
                return node.get(name);
            }
            String swapped = swapped(name);
            if (node.has(swapped)) {
                return node.get(swapped);
            }
            String lower = name.toLowerCase(Locale.ROOT);
            JsonNode found = null;
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                if (e.getKey().toLowerCase(Locale.ROOT).equals(lower)) {
                    found = e.getValue();
                }
            }
            return found;
        }
    }

    /**
     * The wanted fields of the object the parser is in, read in one pass: only values whose name
     * matches a wanted field case-insensitively are materialized, everything else is skipped.
     */
    private static final class Fields implements Lookup {
        private final String[] names;
        private final String[] swappedNames;
        private final String[] lowerNames;
        /** Per wanted field: spelling -> last value, in order of first appearance. */
        private final LinkedHashMap<String, JsonNode>[] seen;

        @SuppressWarnings("unchecked")
        private Fields(String... names) {
            this.names = names;
            this.swappedNames = new String[names.length];
            this.lowerNames = new String[names.length];
            this.seen = new LinkedHashMap[names.length];
            for (int i = 0; i < names.length; i++) {
                swappedNames[i] = swapped(names[i]);
                lowerNames[i] = names[i].toLowerCase(Locale.ROOT);
            }
        }

        static Fields read(JsonParser p, String... names) throws IOException {
            Fields f = new Fields(names);
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                int wanted = f.indexOf(name);
                if (wanted < 0) {
                    p.skipChildren();
                    continue;
                }
                JsonNode value = p.readValueAsTree();
                if (f.seen[wanted] == null) {
                    f.seen[wanted] = new LinkedHashMap<>(2);
                }
                f.seen[wanted].put(name, value);
            }
            if (t != JsonToken.END_OBJECT) {
                throw new IOException("unexpected token " + t);
            }
            return f;
        }

        private int indexOf(String name) {
            String lower = null;
            for (int i = 0; i < names.length; i++) {
                if (name.equals(names[i]) || name.equals(swappedNames[i])) {
                    return i;
                }
                if (lower == null) {
                    lower = name.toLowerCase(Locale.ROOT);
                }
                if (lower.equals(lowerNames[i])) {
                    return i;
                }
            }
            return -1;
        }

        JsonNode get(int i) {
            LinkedHashMap<String, JsonNode> spellings = seen[i];
            if (spellings == null) {
                return null;
            }
            if (spellings.containsKey(names[i])) {
                return spellings.get(names[i]);
            }
            if (spellings.containsKey(swappedNames[i])) {
                return spellings.get(swappedNames[i]);
            }
            JsonNode last = null;
            for (JsonNode v : spellings.values()) {
                last = v;
            }
            return last;
        }

        @Override
        public JsonNode field(String name) {
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(name)) {
                    return get(i);
                }
            }
            throw new IllegalArgumentException("field not read: " + name);
        }
    }
}
