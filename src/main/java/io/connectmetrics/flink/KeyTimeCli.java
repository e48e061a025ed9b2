package io.connectmetrics.flink;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * {@code java -cp ... io.connectmetrics.flink.KeyTimeCli STREAM [MIN_EVENT_MS MAX_FUTURE_MS]}: for
 * each stdin line (a JSON string literal holding one raw record) prints {@code ["key", event_ms]}
 * or {@code null}; with the two bounds, as the sources read it (now = the wall clock).
 *
 * <p>Why: the tests hold the Java reader equal to the Python normalizers on every fixture,
 * reference sample, simulated and fuzzed record, in one process instead of one call each.
 */
public final class KeyTimeCli {

    private KeyTimeCli() {}

    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        SourceKeyTime bounded = args.length >= 3
                ? new SourceKeyTime(args[0], Long.parseLong(args[1]), Long.parseLong(args[2]))
                : null;
        String line;
        while ((line = in.readLine()) != null) {
            String raw = json.readValue(line, String.class);
            SourceKeyTime.KeyTime kt = bounded == null
                    ? SourceKeyTime.readUnbounded(args[0], raw)
                    : bounded.read(raw, System.currentTimeMillis());
            out.println(kt == null ? "null" : json.writeValueAsString(new Object[] {kt.key, kt.eventMs}));
        }
        out.flush();
    }
}
