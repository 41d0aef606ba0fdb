package conformance.grpcjava;

import io.grpc.internal.JsonParser;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON in and out. Reading uses grpc-core's own {@code JsonParser}, the one the channel parses
 * service configs with, so a case's policy config reaches the provider's parser as the channel's
 * would (objects as maps, numbers as doubles). Writing is a small deterministic printer: keys in
 * insertion order, integral numbers without a fraction.
 */
final class Json {
  private Json() {}

  static Map<String, ?> parseObject(String line) throws BadInput {
    Object value;
    try {
      value = JsonParser.parse(line);
    } catch (IOException | RuntimeException e) {
      throw new BadInput("not JSON: " + e.getMessage());
    }
    return object(value, "message");
  }

  @SuppressWarnings("unchecked")
  static Map<String, ?> object(Object value, String path) throws BadInput {
    if (!(value instanceof Map)) {
      throw new BadInput(path + ": expected an object");
    }
    return (Map<String, ?>) value;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> objectOrEmpty(Object value, String path) throws BadInput {
    return value == null ? Map.of() : (Map<String, Object>) object(value, path);
  }

  static List<?> list(Object value, String path) throws BadInput {
    if (!(value instanceof List)) {
      throw new BadInput(path + ": expected a list");
    }
    return (List<?>) value;
  }

  static String string(Object value, String path) throws BadInput {
    if (!(value instanceof String)) {
      throw new BadInput(path + ": expected a string");
    }
    return (String) value;
  }

  static long integer(Object value, String path) throws BadInput {
    if (!(value instanceof Double) || ((Double) value) % 1 != 0) {
      throw new BadInput(path + ": expected an integer");
    }
    return ((Double) value).longValue();
  }

  static double number(Object value, String path) throws BadInput {
    if (!(value instanceof Double)) {
      throw new BadInput(path + ": expected a number");
    }
    return (Double) value;
  }

  static boolean bool(Object value, String path) throws BadInput {
    if (!(value instanceof Boolean)) {
      throw new BadInput(path + ": expected true or false");
    }
    return (Boolean) value;
  }

  /** A fresh ordered object: {@code obj("type", "connect", "subchannel", handle)}. */
  static Map<String, Object> obj(Object... keysAndValues) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      out.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return out;
  }

  static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String) {
      writeString((String) value, out);
    } else if (value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Integer || value instanceof Long) {
      out.append(value);
    } else if (value instanceof Number) {
      double d = ((Number) value).doubleValue();
      out.append(d % 1 == 0 && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d));
    } else if (value instanceof Map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        writeString((String) entry.getKey(), out);
        out.append(':');
        write(entry.getValue(), out);
      }
      out.append('}');
    } else if (value instanceof List) {
      out.append('[');
      boolean first = true;
      for (Object item : (List<?>) value) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(item, out);
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException("cannot write " + value.getClass());
    }
  }

  private static void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    out.append('"');
  }
}
