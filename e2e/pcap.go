package e2e

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"
)

// Payload types of the G.711 laws (RFC 3551 §6).
const (
	PayloadPCMU = 0
	PayloadPCMA = 8
)

// WriteRTPTonePCAP writes a pcap file (Ethernet link type) of an RTP stream
// carrying a sine of freqHz at ToneLevelDBFS for seconds, as G.711 μ-law
// (payloadType PayloadPCMU) or A-law (PayloadPCMA) in 20 ms packets, for
// SIPp's play_pcap_audio. SIPp replays payloads and payload types as they
// are, so the scenario's SDP must offer the same payload type. Addresses and
// ports in the file are placeholders: SIPp sends to the media address the
// server's SDP gave.
func WriteRTPTonePCAP(path string, freqHz, seconds float64, payloadType uint8) error {
	if payloadType != PayloadPCMU && payloadType != PayloadPCMA {
		return fmt.Errorf("tone pcap: payload type %d: want 0 (PCMU) or 8 (PCMA)", payloadType)
	}
	if !(freqHz > 0 && freqHz < 4000) || !(seconds > 0 && seconds <= 600) {
		return fmt.Errorf("tone pcap: %g Hz for %g s: want 0 < f < 4000 Hz, 0 < d <= 600 s", freqHz, seconds)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tone pcap: %w", err)
	}
	w := bufio.NewWriter(f)
	le, be := binary.LittleEndian, binary.BigEndian
	// pcap global header: magic, version 2.4, zone, sigfigs, snaplen, link type 1 (Ethernet).
	hdr := le.AppendUint32(nil, 0xa1b2c3d4)
	hdr = le.AppendUint16(hdr, 2)
	hdr = le.AppendUint16(hdr, 4)
	hdr = le.AppendUint32(hdr, 0)
	hdr = le.AppendUint32(hdr, 0)
	hdr = le.AppendUint32(hdr, 65535)
	hdr = le.AppendUint32(hdr, 1)
	_, _ = w.Write(hdr)

	const samples = 160 // 20 ms at 8 kHz
	amp := math.Pow(10, ToneLevelDBFS/20) * 32767
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	frames := int(math.Round(seconds * 50))
	var n int
	for i := range frames {
		rtp := make([]byte, 12, 12+samples)
		rtp[0] = 0x80
		rtp[1] = payloadType
		if i == 0 {
			rtp[1] |= 0x80 // marker: first packet of the talkspurt
		}
		be.PutUint16(rtp[2:], uint16(i))
		be.PutUint32(rtp[4:], uint32(i*samples))
		be.PutUint32(rtp[8:], 0x5eed1234)
		for range samples {
			s := int16(math.Round(amp * math.Sin(2*math.Pi*freqHz*float64(n)/8000)))
			n++
			if payloadType == PayloadPCMU {
				rtp = append(rtp, pcapULaw(s))
			} else {
				rtp = append(rtp, pcapALaw(s))
			}
		}
		frame := pcapFrame(rtp)
		ts := start.Add(time.Duration(i) * 20 * time.Millisecond)
		ph := le.AppendUint32(nil, uint32(ts.Unix()))
		ph = le.AppendUint32(ph, uint32(ts.Nanosecond()/1000))
		ph = le.AppendUint32(ph, uint32(len(frame)))
		ph = le.AppendUint32(ph, uint32(len(frame)))
		_, _ = w.Write(ph)
		_, _ = w.Write(frame)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("tone pcap: %w", err)
	}
	return f.Close()
}

// pcapFrame wraps payload in Ethernet, IPv4 (with its header
// checksum) and UDP (checksum 0: none, RFC 768) headers, 127.0.0.1:6000 to
// 127.0.0.1:6002.
func pcapFrame(payload []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, 14+20+8, 14+20+8+len(payload))
	be.PutUint16(b[12:], 0x0800) // EtherType IPv4; MAC addresses zero
	ip := b[14:34]
	ip[0] = 0x45 // version 4, 5 words
	be.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64 // TTL
	ip[9] = 17 // UDP
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(be.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	be.PutUint16(ip[10:], ^uint16(sum))
	udp := b[34:42]
	be.PutUint16(udp[0:], 6000)
	be.PutUint16(udp[2:], 6002)
	be.PutUint16(udp[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// pcapULaw and pcapALaw are the G.711 encoders (ITU-T G.711), written out here so
// the harness does not depend on the code it tests.
func pcapULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func pcapALaw(s int16) byte {
	x := int(s)
	sign := 0x80
	if x < 0 {
		x, sign = -x-1, 0
	}
	x = min(x, 32767) >> 3
	var out int
	if x < 32 {
		out = x >> 1
	} else {
		exp := 1
		for v := x >> 5; v > 1; v >>= 1 {
			exp++
		}
		out = exp<<4 | (x>>exp)&0x0f
	}
	return byte((out | sign) ^ 0x55)
}
