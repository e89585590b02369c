package dirty

import (
	"math/rand/v2"
	"os"
	"time"

	"golang.org/x/time/rate"
)

func Bad(l *rate.Limiter) {
	_ = time.Now()
	time.Sleep(1)
	go func() {}()
	ch := make(chan int)
	ch <- 1
	<-ch
	_ = rand.IntN(3)
	_ = l.Allow()
	_ = l.AllowN(time.Time{}, 1)
	_ = os.Args
}
