package feeds

// Relater keeps a bounded in-memory TF-IDF index of recent stories and finds,
// for a story, the most similar ones and the cluster (same event, another
// outlet) it belongs to. It is safe for concurrent use.
type Relater struct{}

// NewRelater returns an index holding at most maxDocs stories (oldest dropped).
func NewRelater(maxDocs int) *Relater {
	panic("TODO(relate): NewRelater")
}

// Add indexes a stored story (ID set).
func (r *Relater) Add(st Story) {
	panic("TODO(relate): Add")
}

// Similar returns up to k indexed stories most similar to st (excluding st
// itself and stories of its own cluster), most similar first.
func (r *Relater) Similar(st Story, k int) []Related {
	panic("TODO(relate): Similar")
}

// Cluster returns the ID of the cluster leader st belongs to — an indexed story
// from another source about the same event, published within three days — or 0.
func (r *Relater) Cluster(st Story) int64 {
	panic("TODO(relate): Cluster")
}
