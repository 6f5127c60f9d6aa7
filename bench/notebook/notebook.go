// Package notebook makes the notebook every contents benchmark saves and
// loads, so that their numbers speak of the same thing.
package notebook

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PutBody is a contents PUT body of a notebook of about size bytes:
// code cells with 64-line stream outputs, as analysts' notebooks are.
func PutBody(size int) []byte {
	line := strings.Repeat("0123456789abcdef ", 4) + "\n"
	var cells []map[string]any
	for n := 0; n < size; n += 64 * len(line) {
		cells = append(cells, map[string]any{
			"cell_type": "code", "execution_count": 1, "metadata": map[string]any{}, "id": fmt.Sprintf("c%07d", len(cells)),
			"source":  "print('x' * 64)\n",
			"outputs": []any{map[string]any{"output_type": "stream", "name": "stdout", "text": strings.Repeat(line, 64)}},
		})
	}
	body, _ := json.Marshal(map[string]any{"type": "notebook", "content": map[string]any{
		"cells": cells, "metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5}})
	return body
}
