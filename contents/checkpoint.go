package contents

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checkpointRow is a remote_checkpoints row. Checkpoints are found by
// path string, unlimited per file, and listed oldest first: Jupyter's
// front ends (Notebook 6 and 7, JupyterLab 4) take the last one listed
// as the latest, and File > Revert restores it.
type checkpointRow struct {
	ID           int64     `gorm:"column:id;primaryKey"`
	UserID       string    `gorm:"column:user_id"`
	Path         string    `gorm:"column:path"`
	Content      []byte    `gorm:"column:content"`
	LastModified time.Time `gorm:"column:last_modified"`
}

// Checkpoint is the API's checkpoint model.
type Checkpoint struct {
	ID           string `json:"id"`
	LastModified string `json:"last_modified"`
}

func (c *checkpointRow) model() Checkpoint {
	return Checkpoint{ID: strconv.FormatInt(c.ID, 10), LastModified: isoTime(utcTime(c.LastModified))}
}

func (st *store) addCheckpoint(user, p string, stored []byte, at time.Time) (*checkpointRow, error) {
	row := &checkpointRow{UserID: user, Path: checkpointPath(p), Content: stored, LastModified: at}
	if err := st.db.Table(st.t.checkpoints).Create(row).Error; err != nil {
		return nil, err
	}
	return row, nil
}

func (st *store) checkpoints(user, p string) ([]checkpointRow, error) {
	var rows []checkpointRow
	err := st.db.Raw("SELECT id, user_id, path, last_modified FROM "+st.t.checkpoints+" WHERE user_id = ? AND path = ?",
		user, checkpointPath(p)).Scan(&rows).Error
	out := rows[:0]
	for _, r := range rows {
		if r.Path == checkpointPath(p) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastModified.Equal(out[j].LastModified) {
			return out[i].LastModified.Before(out[j].LastModified)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// checkpoint reads one checkpoint with its content; missing is (nil, nil).
func (st *store) checkpoint(user, p, id string) (*checkpointRow, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, nil
	}
	var rows []checkpointRow
	err = st.db.Raw("SELECT id, user_id, path, content, last_modified FROM "+st.t.checkpoints+" WHERE user_id = ? AND path = ? AND id = ?",
		user, checkpointPath(p), n).Scan(&rows).Error
	if err != nil || len(rows) == 0 || rows[0].Path != checkpointPath(p) {
		return nil, err
	}
	return &rows[0], nil
}

func (st *store) deleteCheckpoint(id int64) error {
	return st.db.Exec("DELETE FROM "+st.t.checkpoints+" WHERE id = ?", id).Error
}

// moveCheckpoints follows a file's rename: exactly that path, not every
// path that starts with it (pgcontents moved pre.txt.bak's along with
// pre.txt's).
func (st *store) moveCheckpoints(user, oldPath, newPath string) error {
	return st.db.Exec("UPDATE "+st.t.checkpoints+" SET path = ? WHERE user_id = ? AND path = ?",
		checkpointPath(newPath), user, checkpointPath(oldPath)).Error
}

func (st *store) checkpointsUnder(user, dir string) ([]checkpointRow, error) {
	prefix := checkpointPath(dir) + "/"
	var rows []checkpointRow
	err := st.db.Raw("SELECT id, path FROM "+st.t.checkpoints+" WHERE user_id = ? AND path LIKE ? ESCAPE '!'",
		user, likePrefix(prefix)).Scan(&rows).Error
	out := rows[:0]
	for _, r := range rows {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out, err
}

// moveCheckpointsUnder follows a directory's move.
func (st *store) moveCheckpointsUnder(user, oldDir, newDir string) error {
	rows, err := st.checkpointsUnder(user, oldDir)
	if err != nil {
		return err
	}
	for _, r := range rows {
		moved := checkpointPath(newDir) + r.Path[len(checkpointPath(oldDir)):]
		if err := checkWritable(strings.TrimPrefix(moved, "/")); err != nil {
			return err
		}
		if err := st.db.Exec("UPDATE "+st.t.checkpoints+" SET path = ? WHERE id = ?", moved, r.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

func (st *store) deleteCheckpoints(user, p string) error {
	return st.db.Exec("DELETE FROM "+st.t.checkpoints+" WHERE user_id = ? AND path = ?", user, checkpointPath(p)).Error
}

func (st *store) deleteCheckpointsUnder(user, dir string) error {
	rows, err := st.checkpointsUnder(user, dir)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := st.deleteCheckpoint(r.ID); err != nil {
			return err
		}
	}
	return nil
}

// checkpointFile resolves the path a checkpoint request names.
func (s *Service) checkpointFile(rawPath string) (string, error) {
	p, err := cleanPath(rawPath)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", badRequest("Directories have no checkpoints.")
	}
	return p, s.hiddenErr(p, http.StatusNotFound)
}

// createCheckpoint copies a file's stored value into a new checkpoint.
func (s *Service) createCheckpoint(ctx context.Context, user, rawPath string) (*Checkpoint, error) {
	p, err := s.checkpointFile(rawPath)
	if err != nil {
		return nil, err
	}
	var cp *checkpointRow
	err = s.st.tx(ctx, func(st *store) error {
		row, err := st.file(user, p, wantContent, false)
		if err != nil {
			return err
		}
		if row == nil {
			if ok, _ := st.dirExists(user, dirDBName(p)); ok {
				return badRequest("Directories have no checkpoints.")
			}
			return notFound("No such file: %s", p)
		}
		if err := s.checkSize(p, row.Content); err != nil {
			return err
		}
		cp, err = st.addCheckpoint(user, p, row.Content, now())
		return err
	})
	if err != nil {
		return nil, err
	}
	m := cp.model()
	return &m, nil
}

func (s *Service) listCheckpoints(ctx context.Context, user, rawPath string) ([]Checkpoint, error) {
	p, err := s.checkpointFile(rawPath)
	if err != nil {
		return nil, err
	}
	rows, err := s.ctxStore(ctx).checkpoints(user, p)
	if err != nil {
		return nil, err
	}
	out := make([]Checkpoint, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// restoreCheckpoint writes a checkpoint's value back over its file (or
// makes the file again); the checkpoint stays.
func (s *Service) restoreCheckpoint(ctx context.Context, user, rawPath, id string) error {
	p, err := s.checkpointFile(rawPath)
	if err != nil {
		return err
	}
	return s.st.tx(ctx, func(st *store) error {
		cp, err := st.checkpoint(user, p, id)
		if err != nil {
			return err
		}
		if cp == nil {
			return notFound("No such checkpoint: %s for %s", id, p)
		}
		if err := s.checkTarget(st, user, p); err != nil {
			return err
		}
		_, err = st.writeFile(user, p, cp.Content, now())
		return err
	})
}

func (s *Service) deleteCheckpointAPI(ctx context.Context, user, rawPath, id string) error {
	p, err := s.checkpointFile(rawPath)
	if err != nil {
		return err
	}
	return s.st.tx(ctx, func(st *store) error {
		cp, err := st.checkpoint(user, p, id)
		if err != nil {
			return err
		}
		if cp == nil {
			return notFound("No such checkpoint: %s for %s", id, p)
		}
		return st.deleteCheckpoint(cp.ID)
	})
}
