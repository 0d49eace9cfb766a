package web

import (
	"net/http"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

// emptyVariantRows is how many blank language rows the template form
// offers; a template needing more is saved and edited again.
const emptyVariantRows = 3

type adminTemplatesView struct {
	adminChrome
	Templates []templateRow
	Languages []string
	Form      store.Template // the template in the form; ID 0 makes a new one
}

type templateRow struct {
	store.Template
}

// Rows are the form's variants and the blank rows after them.
func (v adminTemplatesView) Rows() []store.TemplateVariant {
	return append(v.Form.Variants[:len(v.Form.Variants):len(v.Form.Variants)], make([]store.TemplateVariant, emptyVariantRows)...)
}

func (s *Server) showAdminTemplates(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminTemplates(w, r, http.StatusOK, adminTemplatesView{})
}

// showAdminTemplate opens one template in the form.
func (s *Server) showAdminTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.store.Template(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderAdminTemplates(w, r, http.StatusOK, adminTemplatesView{Form: t})
}

func (s *Server) renderAdminTemplates(w http.ResponseWriter, r *http.Request, status int, v adminTemplatesView) error {
	v.adminChrome = s.adminChrome(r, "templates", v.Error)
	v.Languages = inboxLanguages
	ts, err := s.store.Templates(r.Context())
	if err != nil {
		return err
	}
	for _, t := range ts {
		v.Templates = append(v.Templates, templateRow{Template: t})
	}
	return s.ui.render(w, status, s.locale(r), "admin_templates", "", v)
}

// templateFromForm reads the template form: a row without language and
// text is a blank row and left out.
func templateFromForm(w http.ResponseWriter, r *http.Request) (store.Template, error) {
	if err := parseForm(w, r); err != nil {
		return store.Template{}, err
	}
	f := r.PostForm
	t := store.Template{Name: f.Get("name"), Shortcut: f.Get("shortcut"), Variants: []store.TemplateVariant{}}
	langs, tones, bodies := f["language"], f["tone"], f["body"]
	if len(tones) != len(langs) || len(bodies) != len(langs) {
		return t, errorf(http.StatusBadRequest, "every variant row needs a language, tone and body field")
	}
	for i := range langs {
		if strings.TrimSpace(langs[i]) == "" && strings.TrimSpace(bodies[i]) == "" {
			continue
		}
		t.Variants = append(t.Variants, store.TemplateVariant{Language: langs[i], Tone: tones[i], Body: bodies[i]})
	}
	return t, nil
}

func (s *Server) addTemplateFromForm(w http.ResponseWriter, r *http.Request) error {
	t, err := templateFromForm(w, r)
	if err != nil {
		return err
	}
	typed := t
	typed.Variants = append([]store.TemplateVariant(nil), t.Variants...)
	if _, err := s.desk.AddTemplate(r.Context(), actor(r), t); err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminTemplates(w, r, status, adminTemplatesView{adminChrome: adminChrome{Error: msg}, Form: typed})
		})
	}
	return saved(w, r, "templates")
}

func (s *Server) editTemplateFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := templateFromForm(w, r)
	if err != nil {
		return err
	}
	typed := t
	typed.ID = id
	typed.Variants = append([]store.TemplateVariant(nil), t.Variants...)
	if _, err := s.desk.UpdateTemplate(r.Context(), actor(r), id, t); err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminTemplates(w, r, status, adminTemplatesView{adminChrome: adminChrome{Error: msg}, Form: typed})
		})
	}
	return saved(w, r, "templates")
}

func (s *Server) deleteTemplateFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.desk.DeleteTemplate(r.Context(), actor(r), id); err != nil {
		return err
	}
	return saved(w, r, "templates")
}
