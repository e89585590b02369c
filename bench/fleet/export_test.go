package fleet

// SetHooks installs test observers on a service before it serves: onEnter
// is called when a request is inside the replica's station (serving or
// queued), onHang when a request starts waiting out a hang fault.
func SetHooks(s *Service, onEnter, onHang func()) {
	s.adm.onEnter = onEnter
	s.faults.onHang = onHang
}
