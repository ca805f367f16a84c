package trail

import "context"

// Internals exported for the external tests.
var (
	RegionRE     = regionRE
	AccountRE    = accountRE
	ValidRegion  = validRegion
	ValidAccount = validAccount
)

// HistoryQueueEvents is how many events the history worker's queue and the
// batcher's open history batch hold at most.
const HistoryQueueEvents = histQueueBatches*histBatchSize + histBatchSize

// AbandonFleet stops r's fleet digest writers as a crash would: no final
// digest, leases left to expire.
func AbandonFleet(r *Recorder) { _ = r.closeFleets(context.Background(), true) }

// GzipLevelForTest compresses body at a gzip level, as log files are.
func GzipLevelForTest(body []byte, level int) ([]byte, error) { return gzipLevel(body, level) }
