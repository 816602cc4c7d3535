package httppool

import (
	"context"
	"log/slog"
	"time"
)

// Connection lifecycle events go to Config.Logger at debug level. Each call
// site checks logEnabled first, so that a Transport without a logger, or
// whose logger drops debug records, pays one comparison.

func (c *core) logEnabled() bool {
	return c.cfg.Logger != nil && c.cfg.Logger.Enabled(context.Background(), slog.LevelDebug)
}

func (c *core) logConn(msg string, pc *h1Conn, attrs ...slog.Attr) {
	base := []slog.Attr{
		slog.Uint64("conn", pc.id),
		slog.String("host", pc.hp.key.String()),
	}
	c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, msg, append(base, attrs...)...)
}

func (pc *h1Conn) logDialed(took time.Duration) {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: dialed", pc,
			slog.String("local", pc.nc.LocalAddr().String()),
			slog.Duration("took", took))
	}
}

func (pc *h1Conn) logReused(idle time.Duration) {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: reused", pc, slog.Duration("idle", idle), slog.Int("served", pc.served))
	}
}

func (pc *h1Conn) logReturned() {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: returned to pool", pc, slog.Int("served", pc.served))
	}
}

func (pc *h1Conn) logClosed(reason closeReason) {
	if c := pc.hp.core; c.logEnabled() {
		c.logConn("httppool: closed", pc,
			slog.String("reason", reason.String()),
			slog.Int("served", pc.served),
			slog.Duration("age", time.Since(pc.createdAt)))
	}
}
