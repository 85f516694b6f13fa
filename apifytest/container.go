package apifytest

// SetContainerURL sets the containerUrl of run runID: the URL at which the
// process running as the run serves its web server (ACTOR_WEB_SERVER_URL),
// as apify-local sets it for the processes it starts. An unknown run is an
// error matching ErrNotFound.
func (s *Server) SetContainerURL(runID, url string) error {
	if _, e := s.withRun(nil, runID, func(r *runRec) { r.run.ContainerURL = url }); e != nil {
		return e
	}
	return nil
}
