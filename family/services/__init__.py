"""Everything that writes family data. Views, APIs, tasks and commands call these."""

from .activities import (  # noqa: F401
    activity_register,
    activity_registration_cancel,
    activity_roll_take,
    activity_set_capacity,
    activity_waiting_list_promote,
)
from .children import (  # noqa: F401
    change_request_approve,
    change_request_cancel,
    change_request_create,
    change_request_reject,
    child_create,
    child_record_read,
    child_update_identity,
    household_record_read,
)
from .derogations import (  # noqa: F401
    derogation_decide,
    derogation_opinion,
    derogation_schedule,
)
from .documents import document_check, document_read_audit, document_upload  # noqa: F401
from .households import (  # noqa: F401
    emergency_contact_create,
    emergency_contact_delete,
    guardian_invite,
    guardian_leave,
    household_create,
    income_assessment_declare,
    income_assessment_reject,
    income_assessment_validate,
    invitation_accept,
    invitation_accept_with_signup,
    invitation_decline,
    invitation_email,
    invitation_from_token,
    invitation_revoke,
    invitation_token,
)
from .illness import illness_report  # noqa: F401
from .messages import (  # noqa: F401
    appointment_cancel,
    appointment_confirm,
    appointment_decline,
    appointment_request,
    message_post,
    office_slot_create,
    thread_assign,
    thread_close,
    thread_mark_read,
    thread_reopen,
    thread_start,
)
from .privacy import household_export_zip  # noqa: F401
from .registrations import (  # noqa: F401
    application_bulk_action,
    application_create,
    application_decide,
    application_event_notify,
    application_request_documents,
    application_start_review,
    application_submit,
    application_withdraw,
)
from .school_years import (  # noqa: F401
    reenrolment_answer,
    reenrolment_campaign_create,
    reenrolment_remind,
    school_year_following,
    school_year_switch,
)
