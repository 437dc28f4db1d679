package bridge

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/media"
)

// benchPhone says a tone (when talking) or silence, and discards what it hears.
type benchPhone struct {
	talking bool
	phase   float64
}

func (p *benchPhone) ReadFrame(dst []int16) bool {
	if !p.talking {
		clear(dst)
		return true
	}
	for i := range dst {
		dst[i] = int16(6000 * math.Sin(p.phase))
		p.phase += 2 * math.Pi * 440 / 8000
	}
	return true
}

func (p *benchPhone) WriteFrame([]int16, bool) {}

// BenchmarkRoomTick measures one 20 ms mix of a room of 10 (8 phone legs, 2
// browsers) with the given number of phone talkers: the per-room work of the
// shared media clock. Divide by 8 for the cost per phone leg per frame.
func BenchmarkRoomTick(b *testing.B) {
	for _, talkers := range []int{0, 1, 2, 8} {
		b.Run(map[int]string{0: "talkers=0", 1: "talkers=1", 2: "talkers=2", 8: "talkers=8"}[talkers], func(b *testing.B) {
			benchTicks(b, func(i int) PhoneAudio { return &benchPhone{talking: i < talkers} })
		})
	}
}

// benchTicks times the ticks of a room of 2 browsers (publishing audio,
// sending nothing) and 8 phone legs, the i-th phone(i); it reports the cost
// per phone leg too. The clock is closed: the benchmark drives the ticks.
func benchTicks(b *testing.B, phone func(i int) PhoneAudio) {
	clock := media.NewClock(media.ClockConfig{})
	clock.Close()
	e := NewEngine(Config{Clock: clock})
	defer e.Close()
	r := e.Room(&dialroom.Number{Digits: "06000000000", Operator: "op"}, "Op")
	for range 2 {
		m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
		m.Publish(TrackSpec{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}})
	}
	for i := range 8 {
		m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindPhone}, nopEndpoint{})
		if err := m.AttachPhoneAudio(phone(i)); err != nil {
			b.Fatal(err)
		}
	}
	ra := r.audio
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ra.tick(media.Tick{Seq: uint64(i + 1)})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8/1000, "µs/leg")
}

// BenchmarkRoomTickBrowsers is BenchmarkRoomTick with the browsers sending
// what browsers send: a real Opus packet every 20 ms with the RFC 6464 audio
// level, silent or talking. Two phones talk. A silent browser's packets are
// popped but not decoded (readBrowser); a talking one's are decoded for the
// phone mix.
func BenchmarkRoomTickBrowsers(b *testing.B) {
	for _, talking := range []bool{false, true} {
		b.Run(map[bool]string{false: "browsers=silent", true: "browsers=talking"}[talking], func(b *testing.B) {
			clock := media.NewClock(media.ClockConfig{})
			clock.Close() // the benchmark drives ticks itself
			e := NewEngine(Config{Clock: clock})
			defer e.Close()
			r := e.Room(&dialroom.Number{Digits: "06000000000", Operator: "op"}, "Op")
			var tracks []*Track
			for range 2 {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
				tracks = append(tracks, m.Publish(TrackSpec{Kind: KindAudio, AudioLevelExtID: 1,
					Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}))
			}
			for i := range 8 {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindPhone}, nopEndpoint{})
				if err := m.AttachPhoneAudio(&benchPhone{talking: i < 2}); err != nil {
					b.Fatal(err)
				}
			}
			// One second of a browser's Opus at 48 kHz: a tone when talking,
			// faint noise when not (what a muted-by-silence microphone gives).
			enc, err := media.NewOpusEncoder(media.OpusEncoderConfig{Rate: 48000})
			if err != nil {
				b.Fatal(err)
			}
			pcm := make([]int16, enc.FrameSamples())
			var frames [][]byte
			for k := range 50 {
				for i := range pcm {
					if talking {
						pcm[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(k*len(pcm)+i)/48000))
					} else {
						pcm[i] = int16((i*7919+k*31)%16 - 8)
					}
				}
				buf := make([]byte, media.OpusMaxPayload)
				n, err := enc.Encode(buf, pcm)
				if err != nil {
					b.Fatal(err)
				}
				frames = append(frames, buf[:n])
			}
			level := []byte{127} // RFC 6464: digital silence, no voice activity bit
			if talking {
				level = []byte{0x80 | 30}
			}
			pkts := make([]rtp.Packet, len(tracks))
			for i := range pkts {
				pkts[i].Header = rtp.Header{Version: 2, PayloadType: 111, SSRC: uint32(i + 1)}
			}
			send := func(k int) {
				for i, tr := range tracks {
					p := &pkts[i]
					p.SequenceNumber++
					p.Timestamp += 960
					_ = p.Header.SetExtension(1, level)
					p.Payload = frames[k%len(frames)]
					tr.WriteRTP(p)
				}
			}
			ra := r.audio
			for k := range 5 { // fill the jitter buffers to their delay
				send(k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				send(i + 5)
				ra.tick(media.Tick{Seq: uint64(i + 1)})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8/1000, "µs/leg")
		})
	}
}

// BenchmarkPhoneLegMemory admits 10 rooms of 8 phone legs and 2 browsers (the
// load tool's rooms, without network endpoints), runs 100 ticks (2 s) with two
// talkers per room so the talkers' codecs are in use, and reports the Go heap
// in use per phone leg (room share of the browsers' mix inputs included):
// what the mix itself costs a leg in memory, apart from sockets, SIP and pion.
func BenchmarkPhoneLegMemory(b *testing.B) {
	const rooms, phones = 10, 8
	var perLeg float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		clock := media.NewClock(media.ClockConfig{})
		clock.Close() // the benchmark drives ticks itself
		e := NewEngine(Config{Clock: clock})
		var ras []*roomAudio
		for k := range rooms {
			r := e.Room(&dialroom.Number{Digits: fmt.Sprintf("0600000%04d", k), Operator: "op"}, "Op")
			for range 2 {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
				m.Publish(TrackSpec{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}})
			}
			for i := range phones {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindPhone}, nopEndpoint{})
				if err := m.AttachPhoneAudio(&benchPhone{talking: i < 2}); err != nil {
					b.Fatal(err)
				}
			}
			ras = append(ras, r.audio)
		}
		for i := range 100 {
			for _, ra := range ras {
				ra.tick(media.Tick{Seq: uint64(i + 1)})
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perLeg = float64(after.HeapInuse-before.HeapInuse) / (rooms * phones)
		runtime.KeepAlive(ras)
		e.Close()
		b.StartTimer()
	}
	b.ReportMetric(perLeg/1024, "KiB/leg")
}

// wideBenchPhone is a benchPhone on a wideband call (G.722 or Opus).
type wideBenchPhone struct{ benchPhone }

func (p *wideBenchPhone) Wideband() bool { return true }

// BenchmarkRoomTickWideband is BenchmarkRoomTick with two talkers, once with
// every leg narrowband and once with one of the talkers on a wideband call:
// the room then mixes at 16 kHz, the other talker is upsampled for the mix
// and the seven narrowband listeners hear the mix downsampled. The codec
// work of the wideband leg itself (G.722 or Opus, in package sip) is not
// included.
func BenchmarkRoomTickWideband(b *testing.B) {
	for _, wide := range []bool{false, true} {
		b.Run(map[bool]string{false: "narrowband", true: "one wideband talker"}[wide], func(b *testing.B) {
			benchTicks(b, func(i int) PhoneAudio {
				if i == 0 && wide {
					return &wideBenchPhone{benchPhone{talking: true}}
				}
				return &benchPhone{talking: i < 2}
			})
		})
	}
}
