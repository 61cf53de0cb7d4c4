package dev.abyss.cli;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/** Socket addresses as people write them: {@code 127.0.0.1:1234}, {@code [::1]:1234}, no leading slash. */
final class Addresses {
    private Addresses() {
    }

    static String format(SocketAddress address) {
        return switch (address) {
            case InetSocketAddress a when a.getAddress() == null -> a.getHostString() + ":" + a.getPort();
            case InetSocketAddress a -> host(a.getAddress()) + ":" + a.getPort();
            case UnixDomainSocketAddress u -> u.getPath().toString();
            default -> String.valueOf(address);
        };
    }

    /** {@code 127.0.0.1}, or an IPv6 address in brackets in its short form (RFC 5952): {@code [::1]}, {@code [fe80::1%eth0]}. */
    static String host(InetAddress address) {
        if (!(address instanceof Inet6Address v6)) {
            return address.getHostAddress();
        }
        byte[] b = v6.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // the longest run of two or more zero groups becomes "::" (the first one on a tie)
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
                continue;
            }
            if (s.length() > 1 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(groups[i]));
        }
        String scope = v6.getScopedInterface() != null ? v6.getScopedInterface().getName()
                : v6.getScopeId() != 0 ? Integer.toString(v6.getScopeId()) : null;
        if (scope != null) {
            s.append('%').append(scope);
        }
        return s.append(']').toString();
    }
}
