package feeds

// Classifier scores how much a story is about privacy and tags its topics, from
// its title and summary. It is safe for concurrent use.
type Classifier struct {
	// Threshold is the relevance at or above which a story is shown.
	Threshold float64
}

// NewClassifier returns the classifier with its built-in vocabulary.
func NewClassifier() *Classifier {
	panic("TODO(classify): NewClassifier")
}

// Classify returns a relevance in 0..1 and the sorted topic tags.
func (c *Classifier) Classify(title, summary string) (relevance float64, tags []string) {
	panic("TODO(classify): Classify")
}
