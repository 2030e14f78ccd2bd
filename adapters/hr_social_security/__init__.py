"""Human resources and social security (人社): unemployment registrations from its paged feed."""
