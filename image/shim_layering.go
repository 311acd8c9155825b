package image

import (
	"errors"

	"github.com/nixlayer/nixlayer/registration"
)

// Temporary until layers.ChooseLayers lands.
const maxLayersLimit = 127

var chooseLayers = func(string, *registration.Graph, int, func(string) int64) ([][]string, error) {
	return nil, errors.New("layered images are not available yet")
}
