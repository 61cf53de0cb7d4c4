package dev.abyss.server.dtls;

import java.lang.foreign.MemorySegment;

import static dev.abyss.server.dtls.Records.u16;
import static dev.abyss.server.dtls.Records.u24;
import static dev.abyss.server.dtls.Records.u48;
import static dev.abyss.server.dtls.Records.u8;

/**
 * A DTLS ClientHello read in place from the first record of a datagram (RFC 6347 4.2.2 and 4.3.2),
 * every field bounds-checked; no copy, no allocation. A flyweight: {@link #parse} fills it again.
 * Only an unfragmented hello is read (fragment offset 0, fragment length = message length): every
 * client this was tried with sends its hello whole, and a fragmented one cannot be checked statelessly.
 * <pre>
 *  record header (13) | msg_type 1 | length (3) | message_seq (2) | fragment_offset (3) | fragment_length (3)
 *  | client_version (2) | random (32) | session_id (1 + 0..32) | cookie (1 + 0..255)
 *  | cipher_suites (2 + 2..) | compression_methods (1 + 1..) | extensions ...
 * </pre>
 */
final class ClientHello {
    static final int HANDSHAKE_HEADER = 12;
    static final int CLIENT_HELLO = 1;
    static final int HELLO_VERIFY_REQUEST = 3;
    /** Where the body starts: the record header and the handshake header before it. */
    static final int BODY_AT = Records.HEADER + HANDSHAKE_HEADER;

    long recordSequence;
    int recordVersion;
    int messageSeq;
    int clientVersion;
    /** Offsets in the datagram: the cookie's length byte, then the cipher suites' length up to the end of the compression methods. */
    int cookieLengthAt;
    int cookieLength;
    int suitesAt;
    int suitesEnd;
    /** The record's length (header included): where the hello's record ends in the datagram. */
    int recordLength;

    /** True when the datagram starts with a record that is one whole ClientHello in epoch 0; false otherwise. */
    boolean parse(MemorySegment d) {
        int record = Records.recordLength(d, 0);
        if (record < 0 || u8(d, 0) != Records.HANDSHAKE || u16(d, Records.EPOCH_AT) != 0 || record < BODY_AT) {
            return false;
        }
        long h = Records.HEADER;
        int length = u24(d, h + 1);
        if (u8(d, h) != CLIENT_HELLO || u24(d, h + 6) != 0 || u24(d, h + 9) != length || HANDSHAKE_HEADER + length > record - Records.HEADER) {
            return false;
        }
        int end = BODY_AT + length;
        int at = BODY_AT;
        if (at + 2 + 32 + 1 > end) {
            return false;
        }
        int version = u16(d, at);
        if (version >>> 8 != 0xfe) {
            return false;
        }
        at += 2 + 32;
        int sessionId = u8(d, at);
        if (sessionId > 32 || at + 1 + sessionId + 1 > end) {
            return false;
        }
        at += 1 + sessionId;
        int cookieAt = at;
        int cookie = u8(d, at);
        if (at + 1 + cookie + 2 > end) {
            return false;
        }
        at += 1 + cookie;
        int suitesStart = at;
        int suites = u16(d, at);
        if (suites < 2 || (suites & 1) != 0 || at + 2 + suites + 1 > end) {
            return false;
        }
        at += 2 + suites;
        int compression = u8(d, at);
        if (compression < 1 || at + 1 + compression > end) {
            return false;
        }
        at += 1 + compression;
        this.recordSequence = u48(d, Records.SEQUENCE_AT);
        this.recordVersion = u16(d, 1);
        this.messageSeq = u16(d, h + 4);
        this.clientVersion = version;
        this.cookieLengthAt = cookieAt;
        this.cookieLength = cookie;
        this.suitesAt = suitesStart;
        this.suitesEnd = at;
        this.recordLength = record;
        return true;
    }
}
