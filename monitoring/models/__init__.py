from .attachments import StepPhoto  # noqa: F401, E402
from .calls import (  # noqa: F401, E402
    ACTIVE_CALL_STATUSES,
    CallChainStep,
    CallHop,
    CallLevel,
    CallSource,
    CallStatus,
    EmergencyCall,
    HopState,
)
from .cases import (  # noqa: F401, E402
    CLUE_DESCRIPTION_MAX,
    OPEN_CASE_STATUSES,
    AssistanceMeasure,
    Breach,
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    ClueStatus,
    DismissReason,
    ExitAssessment,
    ExitMode,
    LimitBasis,
    MeasureStatus,
    MonitoringCase,
    Objection,
    ObjectionStatus,
    PublicNotice,
    StatusChange,
    StepStatus,
    Visit,
)
from .ledgers import LedgerSpan  # noqa: F401, E402
from .periodic import (  # noqa: F401
    REVIEW_PARAMETER,
    ReviewRule,
    ReviewRuleCode,
    RunStatus,
    ScreeningCampaign,
    TaskName,
    TaskRun,
    VisitTask,
)
from .points import (  # noqa: F401, E402
    ConductItem,
    PointsAccount,
    PointsEntry,
    PointsEntryKind,
    ShopItem,
)
from .quality import (  # noqa: F401
    FindingStatus,
    QualityCondition,
    QualityFinding,
    QualityRule,
)
from .reference import (  # noqa: F401
    STEP_DEFAULT_ROLE,
    CountySettings,
    Holiday,
    IncomeThreshold,
    Measure,
    MeasureCategory,
    MeasureKind,
    ProcedureDefinition,
    ProcedureKind,
    RiskCategoryRequirement,
    RiskMeasureRule,
    RiskType,
    RuleLevel,
    StepDefinition,
    StepKind,
)
from .scoring import (  # noqa: F401
    HouseholdScore,
    IndicatorKind,
    ScoringBand,
    ScoringIndicator,
    ScoringModel,
)
