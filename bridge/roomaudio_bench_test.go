package bridge

import (
	"math"
	"testing"

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
			clock := media.NewClock(media.ClockConfig{})
			clock.Close() // the benchmark drives ticks itself
			e := NewEngine(Config{Clock: clock})
			defer e.Close()
			r := e.Room(&dialroom.Number{Digits: "06000000000", Operator: "op"}, "Op")
			for i := 0; i < 2; i++ {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
				m.Publish(TrackSpec{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}})
			}
			for i := 0; i < 8; i++ {
				m, _ := r.Enter(dialroom.Identity{Kind: dialroom.MemberKindPhone}, nopEndpoint{})
				if err := m.AttachPhoneAudio(&benchPhone{talking: i < talkers}); err != nil {
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
		})
	}
}
