package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Group is a row of hub_groups: a named set of users that scopes
// (SCOPE!group=NAME) and profiles (groups: [...]) refer to.
type Group struct {
	ID   int64
	Name string
	// Properties is the group's JSON object, as JupyterHub keeps it.
	Properties string
	// FromProvider marks a group the login provider made; a group made
	// in the hub is never changed by a login.
	FromProvider bool
	CreatedAt    time.Time
}

// TableName is the table's name.
func (Group) TableName() string { return "hub_groups" }

// groupMember is a row of hub_group_members. FromProvider marks a
// membership the login provider gave, which the next login may take
// away; one added in the hub stays until someone in the hub removes it.
type groupMember struct {
	GroupID      int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID       int64 `gorm:"primaryKey;autoIncrement:false"`
	FromProvider bool
}

func (groupMember) TableName() string { return "hub_group_members" }

// GroupInfo is a group with its members' names, sorted, and each
// member's membership in the same order.
type GroupInfo struct {
	Group
	Users   []string
	Members []Member
}

// Member is one member of a group, and whether the login provider gave
// the membership (the next login may take it away or give it back).
type Member struct {
	User         string
	FromProvider bool
}

// Membership is one group of a user's, and whether the login provider
// gave it.
type Membership struct {
	Group        string
	FromProvider bool
}

// ValidateGroupName checks a group name against sparkhub's rule, the
// username rule with room for longer names: 1 to 64 characters,
// lowercase letters, digits, '-', '_' and '.', starting with a letter or
// a digit.
func ValidateGroupName(name string) error {
	ok := name != "" && len(name) <= 64
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			ok = false
		}
	}
	if !ok {
		return inputErrorf("%q is not a valid group name: use 1 to 64 lowercase letters, digits, '-', '_' and '.', starting with a letter or a digit", httperr.Shorten(name, 70))
	}
	return nil
}

// usersNamed returns the ids of the named users, in the order given; a
// name of no user is an InputError naming it.
func usersNamed(tx *gorm.DB, names []string) ([]int64, error) {
	ids := make([]int64, 0, len(names))
	byName := map[string]int64{}
	for chunk := range chunks(names, 500) {
		var rows []struct {
			ID   int64
			Name string
		}
		if err := tx.Model(&User{}).Select("id, name").Where("name IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			byName[r.Name] = r.ID
		}
	}
	for _, n := range names {
		id, ok := byName[n]
		if !ok {
			return nil, inputErrorf("No such user: %s", httperr.Shorten(n, 40))
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// CreateGroups makes each named group, made in the hub, with users as
// its members. The users are checked first: one that does not exist
// changes nothing. Each group is committed alone, as JupyterHub does:
// a name already taken ends the call with ErrExists (wrapped, naming
// it) and the groups made before it stay.
func (s *Store) CreateGroups(ctx context.Context, names, users []string) ([]*GroupInfo, error) {
	for _, n := range names {
		if err := ValidateGroupName(n); err != nil {
			return nil, err
		}
	}
	ids, err := usersNamed(s.db.WithContext(ctx), users)
	if err != nil {
		return nil, err
	}
	var out []*GroupInfo
	for _, n := range names {
		g := &Group{Name: n, Properties: "{}", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var taken int64
			if err := tx.Model(&Group{}).Where("name = ?", n).Count(&taken).Error; err != nil {
				return err
			}
			if taken > 0 {
				return gorm.ErrDuplicatedKey
			}
			if err := tx.Create(g).Error; err != nil {
				return err
			}
			return addMembers(tx, g.ID, ids, false)
		})
		if err = mapErr(err); err != nil {
			if err == ErrExists {
				return out, fmt.Errorf("group %s: %w", n, err)
			}
			return out, fmt.Errorf("create group %s: %w", n, err)
		}
		info, err := s.Group(ctx, n)
		if err != nil {
			return out, err
		}
		out = append(out, info)
	}
	return out, nil
}

// addMembers makes the users members of the group. With fromProvider
// false a membership the provider gave becomes the hub's own.
func addMembers(tx *gorm.DB, groupID int64, userIDs []int64, fromProvider bool) error {
	if len(userIDs) == 0 {
		return nil
	}
	rows := make([]groupMember, len(userIDs))
	for i, id := range userIDs {
		rows[i] = groupMember{GroupID: groupID, UserID: id, FromProvider: fromProvider}
	}
	onConflict := clause.OnConflict{DoNothing: true}
	if !fromProvider {
		onConflict = clause.OnConflict{Columns: []clause.Column{{Name: "group_id"}, {Name: "user_id"}}, DoUpdates: clause.Assignments(map[string]any{"from_provider": false})}
	}
	return tx.Clauses(onConflict).CreateInBatches(rows, 200).Error
}

// Group returns the named group with its members, or ErrNotFound.
func (s *Store) Group(ctx context.Context, name string) (*GroupInfo, error) {
	var g Group
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&g).Error; err != nil {
		return nil, mapErr(err)
	}
	infos, err := s.withMembers(ctx, []Group{g})
	if err != nil {
		return nil, err
	}
	return infos[0], nil
}

// withMembers adds each group's members, in one query.
func (s *Store) withMembers(ctx context.Context, groups []Group) ([]*GroupInfo, error) {
	out := make([]*GroupInfo, len(groups))
	byID := make(map[int64]*GroupInfo, len(groups))
	ids := make([]int64, len(groups))
	for i, g := range groups {
		out[i] = &GroupInfo{Group: g, Users: []string{}, Members: []Member{}}
		byID[g.ID] = out[i]
		ids[i] = g.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		GroupID      int64
		Name         string
		FromProvider bool
	}
	err := s.db.WithContext(ctx).Table("hub_group_members m").Select("m.group_id, u.name, m.from_provider").
		Joins("JOIN hub_users u ON u.id = m.user_id").Where("m.group_id IN ?", ids).Order("u.name").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	for _, r := range rows {
		g := byID[r.GroupID]
		g.Users = append(g.Users, r.Name)
		g.Members = append(g.Members, Member{User: r.Name, FromProvider: r.FromProvider})
	}
	return out, nil
}

// GroupQuery selects a page of groups, in the order they were made.
type GroupQuery struct {
	Offset, Limit int
	// Names, when not nil, keeps only these names.
	Names []string
}

// ListGroups returns a page of groups and how many match in all.
func (s *Store) ListGroups(ctx context.Context, q GroupQuery) ([]*GroupInfo, int64, error) {
	base := s.db.WithContext(ctx).Model(&Group{})
	if q.Names != nil {
		base = base.Where("name IN ?", q.Names)
	}
	var total int64
	if err := base.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count groups: %w", err)
	}
	qq := base.Order("id").Offset(q.Offset)
	if q.Limit > 0 {
		qq = qq.Limit(q.Limit)
	}
	var groups []Group
	if err := qq.Find(&groups).Error; err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	infos, err := s.withMembers(ctx, groups)
	return infos, total, err
}

// DeleteGroup removes the group and, by the foreign key, its
// memberships.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&Group{})
	if res.Error != nil {
		return fmt.Errorf("delete group %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// AddGroupMembers makes the users members of the group, as added in the
// hub: no login takes them away. A user already a member stays one. A
// name of no user is an InputError and changes nothing.
func (s *Store) AddGroupMembers(ctx context.Context, group string, users []string) (*GroupInfo, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		g, err := groupID(tx, group)
		if err != nil {
			return err
		}
		ids, err := usersNamed(tx, users)
		if err != nil {
			return err
		}
		return addMembers(tx, g, ids, false)
	})
	if err != nil {
		return nil, groupErr("add members to", group, err)
	}
	return s.Group(ctx, group)
}

// RemoveGroupMembers takes the users out of the group; one who is not a
// member is passed over. A name of no user is an InputError and changes
// nothing.
func (s *Store) RemoveGroupMembers(ctx context.Context, group string, users []string) (*GroupInfo, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		g, err := groupID(tx, group)
		if err != nil {
			return err
		}
		ids, err := usersNamed(tx, users)
		if err != nil || len(ids) == 0 {
			return err
		}
		return tx.Where("group_id = ? AND user_id IN ?", g, ids).Delete(&groupMember{}).Error
	})
	if err != nil {
		return nil, groupErr("remove members from", group, err)
	}
	return s.Group(ctx, group)
}

// SetGroupProperties replaces the group's properties.
func (s *Store) SetGroupProperties(ctx context.Context, group string, props map[string]any) (*GroupInfo, error) {
	b, err := json.Marshal(props)
	if err != nil {
		return nil, inputErrorf("the properties cannot be stored as JSON")
	}
	res := s.db.WithContext(ctx).Model(&Group{}).Where("name = ?", group).Update("properties", string(b))
	if res.Error != nil {
		return nil, fmt.Errorf("set properties of group %s: %w", group, res.Error)
	}
	// No RowsAffected check: MySQL counts only changed rows. Group says
	// whether there is one.
	return s.Group(ctx, group)
}

func groupID(tx *gorm.DB, name string) (int64, error) {
	var g Group
	if err := tx.Select("id").Where("name = ?", name).Take(&g).Error; err != nil {
		return 0, err
	}
	return g.ID, nil
}

// groupErr maps err for a change to group: sentinels and InputErrors
// as they are, anything else with what was being done.
func groupErr(doing, group string, err error) error {
	err = mapErr(err)
	var ie *InputError
	if err == ErrNotFound || errors.As(err, &ie) {
		return err
	}
	return fmt.Errorf("%s group %s: %w", doing, group, err)
}

// UserGroups returns the groups of each of these users, by user id,
// sorted by name, in one query per 10,000 users.
func (s *Store) UserGroups(ctx context.Context, userIDs []int64) (map[int64][]Membership, error) {
	out := make(map[int64][]Membership)
	for len(userIDs) > 0 {
		chunk := userIDs[:min(len(userIDs), 10000)]
		userIDs = userIDs[len(chunk):]
		var rows []struct {
			UserID       int64
			Name         string
			FromProvider bool
		}
		err := s.db.WithContext(ctx).Table("hub_group_members m").Select("m.user_id, g.name, m.from_provider").
			Joins("JOIN hub_groups g ON g.id = m.group_id").Where("m.user_id IN ?", chunk).Order("g.name").Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("list users' groups: %w", err)
		}
		for _, r := range rows {
			out[r.UserID] = append(out[r.UserID], Membership{Group: r.Name, FromProvider: r.FromProvider})
		}
	}
	return out, nil
}

// GroupNamesOf returns the names of the user's groups, sorted.
func (s *Store) GroupNamesOf(ctx context.Context, userID int64) ([]string, error) {
	ms, err := s.UserGroups(ctx, []int64{userID})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms[userID]))
	for i, m := range ms[userID] {
		names[i] = m.Group
	}
	return names, nil
}

// membersOf returns the members' names of each of the groups, by group:
// asked afresh for each request whose token holds a SCOPE!group=
// filter, so a user who leaves a group leaves its filters at once.
func (s *Store) membersOf(ctx context.Context, groups []string) (map[string]map[string]bool, error) {
	var rows []struct {
		GroupName string
		UserName  string
	}
	err := s.db.WithContext(ctx).Table("hub_group_members m").Select("g.name AS group_name, u.name AS user_name").
		Joins("JOIN hub_groups g ON g.id = m.group_id").Joins("JOIN hub_users u ON u.id = m.user_id").
		Where("g.name IN ?", groups).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	out := map[string]map[string]bool{}
	for _, r := range rows {
		if out[r.GroupName] == nil {
			out[r.GroupName] = map[string]bool{}
		}
		out[r.GroupName][r.UserName] = true
	}
	return out, nil
}

// SyncUserGroups makes the user's memberships in the login provider's
// groups exactly groups, as the provider gave them at a login
// (JupyterHub's manage_groups): a provider group missing in the hub is
// made (marked from the provider), a membership the provider gave and
// no longer gives is taken away. Groups made in the hub, and
// memberships added in the hub, are never touched: a provider group
// whose name a hub group has is passed over, and a user an admin added
// to a provider group stays in it. A name outside the group name rule is
// an InputError and changes nothing; the caller maps the provider's
// names first.
func (s *Store) SyncUserGroups(ctx context.Context, userID int64, groups []string) error {
	want := map[string]bool{}
	for _, n := range groups {
		if err := ValidateGroupName(n); err != nil {
			return err
		}
		want[n] = true
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.Select("id").Where("id = ?", userID).Take(&u).Error; err != nil {
			return err
		}
		// The provider's memberships the user has now.
		var have []struct {
			GroupID int64
			Name    string
		}
		err := tx.Table("hub_group_members m").Select("m.group_id, g.name").
			Joins("JOIN hub_groups g ON g.id = m.group_id").
			Where("m.user_id = ? AND m.from_provider = ? AND g.from_provider = ?", userID, true, true).Find(&have).Error
		if err != nil {
			return err
		}
		var drop []int64
		for _, h := range have {
			if !want[h.Name] {
				drop = append(drop, h.GroupID)
			}
		}
		if len(drop) > 0 {
			if err := tx.Where("user_id = ? AND group_id IN ? AND from_provider = ?", userID, drop, true).Delete(&groupMember{}).Error; err != nil {
				return err
			}
		}
		if len(names) == 0 {
			return nil
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		missing := make([]Group, len(names))
		for i, n := range names {
			missing[i] = Group{Name: n, Properties: "{}", FromProvider: true, CreatedAt: now}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&missing).Error; err != nil {
			return err
		}
		var provider []Group
		if err := tx.Select("id").Where("name IN ? AND from_provider = ?", names, true).Find(&provider).Error; err != nil {
			return err
		}
		ids := make([]int64, len(provider))
		for i, g := range provider {
			ids[i] = g.ID
		}
		for _, id := range ids {
			// Do nothing on a membership there already: one the hub
			// added stays the hub's.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&groupMember{GroupID: id, UserID: userID, FromProvider: true}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err = mapErr(err); err != nil {
		if err == ErrNotFound {
			return err
		}
		return fmt.Errorf("sync groups of user %d: %w", userID, err)
	}
	return nil
}
